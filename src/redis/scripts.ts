// The shared pace's state, one Redis hash per budget: the whole model of gate.ts's Pace (its
// snapshot, as JSON) and a version. The script keeps no rule of its own: a process reads the pace
// and Redis's clock, applies what happened (its reservations, its answers, a 429) with the same
// Pace code the in-memory limiter runs, and writes the pace back only if nobody wrote it since
// (a compare-and-set on the version); otherwise it applies the same to what the other wrote. So
// every process paces by one model, and the machines' own clocks never matter: every `now` is
// Redis's TIME.
//
// Fields: pace (the snapshot), version (bumped at each write), and, for a person looking at the
// hash, pausedUntil and holds, copied from the pace. Numbers cross as strings: Redis truncates a
// Lua number in a reply to an integer.

/**
 * ARGV: the version the pace was read at ('' to only read it), the pace to write, ms until the
 * hash expires unused, and the pace's pausedUntil and holds. Returns { written (1 or 0), Redis's
 * now in ms, the version now kept, the pace now kept ('' when just written, or none yet) }.
 */
export const COMMIT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local s = redis.call('HMGET', KEYS[1], 'version', 'pace')
local version = tonumber(s[1]) or 0
if ARGV[1] ~= '' and tonumber(ARGV[1]) == version then
  version = version + 1
  redis.call('HSET', KEYS[1], 'version', version, 'pace', ARGV[2], 'pausedUntil', ARGV[4], 'holds', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return { 1, tostring(now), version, '' }
end
return { 0, tostring(now), version, s[2] or '' }
`;
