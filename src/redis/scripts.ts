// The shared pace's state, one Redis hash per budget, and the atomic steps over it. Each script reads
// the clock with TIME, so the machines' own clocks never matter. The scripts only keep the books
// (the slot reservation and the counters a hold is learned from); what the counters teach is
// decided in TypeScript by gate.ts's paceAfterHold and raisedRate, the same rule the in-memory
// limiter follows, and written back with a check that nothing moved in between.
//
// Fields: pausedUntil, rate (per ms), burst, nextSlot (GCRA's theoretical arrival time), windowStart
// and accepted (what got through since the last hold), lastRaise, and epoch, bumped whenever the
// pace changes under calls already waiting (a hold, a learned pace), so that they reserve again.
// Numbers cross as strings: Redis truncates a Lua number in a reply to an integer.

const NOW = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
`;

/**
 * ARGV: epoch seen by a call that waited ('' for a new call), idle ms, ms after a hold's end when the
 * pace is forgotten. Returns { wait ms, epoch }.
 */
export const RESERVE = `${NOW}
local s = redis.call('HMGET', KEYS[1], 'pausedUntil', 'rate', 'burst', 'nextSlot', 'epoch', 'windowStart')
local pausedUntil, rate = tonumber(s[1]) or 0, tonumber(s[2]) or 0
if rate > 0 and now - pausedUntil > tonumber(ARGV[3]) then
  rate = 0
  redis.call('HSET', KEYS[1], 'rate', '0')
end
local burst, nextSlot, epoch = tonumber(s[3]) or 1, tonumber(s[4]) or 0, tonumber(s[5]) or 0
if not s[6] then redis.call('HSET', KEYS[1], 'windowStart', tostring(now)) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if ARGV[1] ~= '' and tonumber(ARGV[1]) == epoch then return { 0, epoch } end
local start = math.max(now, pausedUntil)
if rate == 0 then return { math.ceil(start - now), epoch } end
local interval = 1 / rate
local slot = math.max(nextSlot, start)
redis.call('HSET', KEYS[1], 'nextSlot', tostring(slot + interval))
return { math.ceil(math.max(start, slot - (burst - 1) * interval) - now), epoch }
`;

/**
 * ARGV: Retry-After ms, idle ms. A 429 during a hold lengthens it and returns { 0 }; one after it
 * begins a hold and returns { epoch, accepted, window ms, rate } for the pace to be learned from.
 */
export const HOLD = `${NOW}
local s = redis.call('HMGET', KEYS[1], 'pausedUntil', 'accepted', 'windowStart', 'rate', 'epoch')
local pausedUntil = tonumber(s[1]) or 0
local untilTime = now + tonumber(ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if now < pausedUntil then
  if untilTime > pausedUntil then redis.call('HSET', KEYS[1], 'pausedUntil', tostring(untilTime)) end
  return { 0 }
end
local epoch = (tonumber(s[5]) or 0) + 1
local u = tostring(untilTime)
redis.call('HSET', KEYS[1], 'pausedUntil', u, 'nextSlot', u, 'windowStart', tostring(now), 'accepted', 0,
  'lastRaise', u, 'epoch', epoch)
return { epoch, s[2] or '0', tostring(now - (tonumber(s[3]) or now)), s[4] or '0' }
`;

/** ARGV: epoch of the hold, rate, burst. The learned pace, unless another hold began since. */
export const LEARN = `
local s = redis.call('HMGET', KEYS[1], 'epoch', 'pausedUntil')
if tonumber(s[1]) ~= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'rate', ARGV[2], 'burst', ARGV[3], 'nextSlot', s[2] or '0', 'epoch', tonumber(ARGV[1]) + 1)
return 1
`;

/** ARGV: idle ms. Counts an accepted answer; returns { now, rate, pausedUntil, lastRaise } for the raise rule. */
export const ACCEPT = `${NOW}
redis.call('HINCRBY', KEYS[1], 'accepted', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[1])
local s = redis.call('HMGET', KEYS[1], 'rate', 'pausedUntil', 'lastRaise')
return { tostring(now), s[1] or '0', s[2] or '0', s[3] or '0' }
`;

/** ARGV: the rate the raise was computed from, the raised rate, its time. Skipped if the rate moved. */
export const RAISE = `
if (redis.call('HGET', KEYS[1], 'rate') or '0') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rate', ARGV[2], 'lastRaise', ARGV[3])
return 1
`;
