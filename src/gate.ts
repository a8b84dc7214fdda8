// At the rate limit, a client acts as one. Every attempt of a client passes one gate: at most
// maxConcurrency in flight, and a rate limiter that a 429 closes for every call until Retry-After
// has passed, then opens at the pace the server was seen to accept. Waiting here spends no retry,
// nor does a 429 met while the budget was letting the client's calls through (request.ts counts
// these turns, retry.ts's decide reads them).
//
// The model the limiter keeps (class Pace), signal by signal. The server's limit is read as a budget
// of `burst` requests that renews at `rate`: a token bucket, or a fixed window (a whole budget at each
// window's start). Until the first 429 nothing is paced: a client that never meets the limit pays
// nothing for the gate.
// - A 429 (the first of a hold; the others in flight belong to the same hold) closes the gate until
//   Retry-After, or until the pipeline's backoff when the answer had none. It also ends an interval:
//   what was accepted between it and the previous hold's start is what the server gave in that
//   time, as its budget was empty at both 429s.
// - The first hold teaches the burst (from fewer than LEARNING_SAMPLE only once that many calls,
//   accepted or refused, met it: the client spent the budget itself, a bucket of 5; a client that met
//   a 429 while barely sending met others spending its token, and only holds): everything accepted
//   before it came from a full budget, counted from the first answer (a full budget stays full
//   until a request reaches it, and a cold process's first round trips are slow). The rate is then
//   only guessed (the burst over the hold) and taken as a lower bound. The pace opens on that count
//   less a tenth (firstOpening): it held refill too, and opening on the whole count overshoots at
//   once, which for a small bucket costs a whole hold. Answers accepted while the first hold runs
//   (sent before it) say the budget renews as it goes, a bucket, as a window gives nothing before
//   its end: what they came at (those accepted over the time answers kept coming), over the time
//   the first count took, comes off, and the pace opens on nine tenths of what is left when that is
//   less (a burst spread over a slow start, or a fleet's, holds much refill; an estimate from a few
//   answers is rough, and one token past a small bucket's burst costs a hold), on half of the count
//   at least. The probe starts at half that rate when the guess is above it: a probe that starts
//   above the refill meets its 429 at once and measures nothing, and the pace would stay on a burst
//   a hold.
// - Each later hold teaches the rate (one after fewer than LEARNING_SAMPLE answers only cuts an
//   opening they fell short of), from the accepted count A, the previous hold's length H and
//   the sending since its end D (learnFromHold), first of these that applies:
//   . two holds as long give back as much, so the difference in A over the difference in D is the
//     refill, whatever the burst was (the first burst may have been spread over the start), when D
//     differs by a tenth of the hold at least (two openings met at once differ by stragglers, a few
//     answers in a few ms: hundreds a second); so does
//     the first interval, from a full budget, against the next, once the pace opened short of the
//     first count and more got through after the hold (a hold that gave back less than the full
//     budget only makes the rate come out lower), or, if lower, what got beyond the opening over
//     the sending: the first interval is dated only by its first answer;
//   . holds of unlike lengths (the gate's own backoff, after 429s without Retry-After) whose
//     A / (H + D) agree did not fill the budget: that is the rate;
//   . more than a hold can give back came at the rate while the gate paced: (A - ceiling) / D.
//   Otherwise A bounds what such a hold gives back, and when A is short of the burst the pace opened
//   on, the burst was too large (a measured rate stands) or the hold gave back only its refill,
//   and the next opens on nine tenths of A (A held refill too: each overshoot costs a hold);
//   the rate stays a lower bound, A / (H + D). About one burst is a window's renewal, or a bucket
//   the hold refilled whole; the burst is A less what the refill may have made while it went, but
//   never less than A (up to the most a hold gave back) when A passed the opening burst well: a
//   window gives its whole count at each start, however long the pace took to send it. Nor, the
//   rate unmeasured, less than the opening burst when all of it got through again: taking off a
//   refill a window never made would open each window short and push its 429 (and so, through a
//   whole-second Retry-After, every later window's start) later by the probe's time.
// - After a hold the gate opens on a whole burst when holds this long were seen to give one back
//   (the server renews its budget where its holds end: a window's start, or a bucket the hold
//   refilled), else on what the rate refilled since the 429. Then it paces at the rate: a measured
//   rate a little under what was seen, raised by a tenth after each quiet stretch (twice the hold;
//   once a raise was seen to overshoot, up to five times longer as the hold outlasts what the burst
//   refills: each raise that overshoots costs such a hold); a lower bound
//   doubled every tenth of the hold, counting in nothing until the burst it opened on is spent
//   (which at the concurrency cap, or for a fleet, takes a while), so that the next 429 comes soon
//   after the budget is spent:
//   that 429 measures the rate, and for a window its Retry-After points at the next window's start.
// - Rate-limit headers on any answer (X-RateLimit-Remaining/Reset, RateLimit-Remaining/Reset, the
//   IETF RateLimit r/t and RateLimit-Policy q/w) say the rest outright: what remains of the budget
//   is spent as fast as asked, then nothing goes until its reset; a policy alone sets burst and rate,
//   and a declared rate is what the server said: no quiet stretch raises it, until a hold teaches one
//   (the first hold after it teaches as a first hold does: the policy saw no interval to compare).
// - A minute after the last hold ended, the API's per-minute budget has renewed whole: the pace is
//   forgotten, and calls go as fast as they are made until the next 429.
// Every wait is a wait on the call's own signal: a call whose deadline passes at the gate leaves it
// with the deadline's reason, which the pipeline reports as a timeout at the gate, nothing sent.
import { type Clock, systemClock } from "./clock.ts";
import { holdTooLong, limiterFailed } from "./errors.ts";

/**
 * A request budget. The default is one per client, in memory; pass one limiter to several clients
 * to share it, or `createRedisRateLimiter` from `planetscale-roles/redis` to share it across processes.
 */
export interface RateLimiter {
  /**
   * Resolves when one more request may be sent, and counts it. Returns nothing when it may go at
   * once. Rejects with the signal's reason as soon as the signal aborts. `timeLeftMs`: how long the
   * call may still wait before its deadline, so that a store can tell a wait it should not ask for.
   * `longestHoldMs`: the longest 429 hold the call waits out; the built-in limiters refuse a longer
   * one at once, counting nothing (a store that does not, holds the call until its deadline).
   */
  acquire(signal?: AbortSignal, timeLeftMs?: number, longestHoldMs?: number): Promise<void> | undefined;
  /**
   * The server answered 429: nothing is sent before `retryAfterMs` from now; then the pace is
   * learned. `headers`: the answer's, for any rate-limit headers it carries.
   */
  limited(retryAfterMs: number, headers?: Headers): void;
  /** The server answered something other than 429: the pace is learned from these, and from their headers. */
  accepted(headers?: Headers): void;
  /**
   * Told once by each client that uses the limiter, before its first call: the hex SHA-256 of its
   * Authorization value (never the credentials), so that a shared store can keep one budget a token.
   */
  bind?(identity: string | PromiseLike<string>): void;
}

/**
 * Fewer answers than this between two holds teach nothing: a 429 met by a client that was barely
 * sending came from others spending the same token, and says nothing of the pace the server takes.
 * A first hold met by this many calls at once, accepted or refused, teaches what got through
 * (Pace's #refusedAtFirstHold): a budget that small is the client's own. A later one that got
 * fewer through than nine tenths of the burst the pace opened on cuts that burst (overshotOpening).
 */
export const LEARNING_SAMPLE = 10;

/**
 * A minute after the last hold ended the API's per-minute budget has renewed whole: the pace is
 * forgotten, and calls go as fast as they are made until the next 429.
 */
export const FORGET_PACE_MS = 60_000;

/** A measured rate is paced this much under what was seen: at the rate itself, jitter costs a hold. */
export const RATE_MARGIN = 0.95;

/** What the server let through between two holds, as the first 429 of the later one finds it. */
export interface HoldSeen {
  /** Answers accepted since the previous hold began (since the first request before any hold). */
  accepted: number;
  /** The previous hold's length, ms (0 before the first hold). */
  heldMs: number;
  /** From the previous hold's end (or the first request) to this 429, ms. */
  sendingMs: number;
  /** This hold's length, ms. */
  retryAfterMs: number;
}

/** The server's budget as a hold teaches it. */
export interface Learned {
  /** Requests per ms to pace at. */
  rate: number;
  /** How many go at once when the pace opens. */
  burst: number;
  /** At most this many came back after any hold up to `ceilingHoldMs` long (the burst, and what the refill adds). */
  ceiling: number;
  ceilingHoldMs: number;
  /** A hold at least about this long gives the whole burst back: the pace opens on it (0: any hold, as a window). */
  wholeAfterMs: number;
  /** The rate was measured; otherwise it is a lower bound, and the pace probes upward from it. */
  measured: boolean;
  /** The interval this was learned from, for the next to be compared with. */
  seen: HoldSeen;
}

/**
 * What a hold teaches (the model at the top of this file), given what earlier holds taught (none
 * before the first). Nothing when too few got through to tell.
 */
export function learnFromHold(seen: HoldSeen, known: Learned | undefined): Learned | undefined {
  if (seen.accepted < LEARNING_SAMPLE) return known && overshotOpening(seen, known);
  return { ...learnedFrom(seen, known), seen };
}

/**
 * Too few to teach a rate, but short of nine tenths of the burst a hold taught the pace to open on:
 * that opening overshot (a first count that a slow start filled with refill), and left so, every
 * hold would open on it and meet the next 429 at once. It is cut as a short count cuts it; nothing
 * else changes. A declared policy's burst (no hold taught it) stays.
 */
function overshotOpening({ accepted }: HoldSeen, known: Learned): Learned | undefined {
  if (declaredOnly(known) || accepted === 0 || accepted >= 0.9 * known.burst) return undefined;
  return { ...known, burst: Math.max(1, Math.floor(0.9 * accepted)) };
}

type Lesson = Omit<Learned, "seen">;

/** What a declared policy alone taught (Pace's #declared): it saw no interval, nothing accepted. */
const declaredOnly = (known: Learned) => known.seen.accepted === 0;

/** The rate the first hold guesses, as a lower bound: its count over the hold. */
const guessedRate = ({ accepted, retryAfterMs }: HoldSeen) => accepted / Math.max(1, retryAfterMs);

/**
 * The pace opens on the first count less a tenth: that count held what the refill made while it
 * went (a fleet's, or a slow start's, most), and an opening past a small bucket's burst costs a
 * whole hold at once. A count too small to teach from is the client's own budget (a bucket of 5).
 */
const firstOpening = (accepted: number) => (accepted < LEARNING_SAMPLE ? accepted : Math.floor(0.9 * accepted));

/**
 * Everything before the first hold came from a full budget, at once as far as the rate can tell;
 * until seen otherwise, a hold gives it back whole, as a window does at its start.
 */
function firstLesson(seen: HoldSeen): Lesson {
  const { accepted } = seen;
  const ceilingHoldMs = Number.POSITIVE_INFINITY;
  return {
    rate: guessedRate(seen),
    burst: firstOpening(accepted),
    ceiling: accepted,
    ceilingHoldMs,
    wholeAfterMs: 0,
    measured: false,
  };
}

function learnedFrom(seen: HoldSeen, known: Learned | undefined): Lesson {
  // Paired with a declared policy's empty interval, everything that got through would count as
  // refill and leave a burst of one: the first hold after it teaches as a first.
  if (known === undefined || declaredOnly(known)) return firstLesson(seen);
  const { accepted, heldMs, sendingMs } = seen;
  // The budget was empty at both 429s: all that got through came from the refill since the first,
  // and from a whole burst if the hold refilled one.
  const overall = accepted / Math.max(1, heldMs + sendingMs);
  const measured = measuredAgainst(seen, known, overall);
  if (measured) return measured;
  // What got through bounds what a hold this long gives back.
  const bound =
    accepted < known.ceiling || heldMs < known.ceilingHoldMs
      ? { ceiling: accepted, ceilingHoldMs: Math.min(heldMs, known.ceilingHoldMs) }
      : {};
  // Fewer than the pace opened on: a hold this long gives back only this much (its refill), or the
  // burst was taken too large (the first was spread over the start).
  const short = accepted < 0.9 * known.burst;
  const whole = short ? { wholeAfterMs: heldMs } : {};
  // What got through, less what the refill may have made while it went, was given back by the
  // hold. But when well more than the burst the pace opened on got through, up to the most a hold
  // gave back, that much came back whatever the refill was: a window gives its whole count at each
  // start, however long the pace took to send it. An opening burst that got through whole stays,
  // unless a measured rate says what the refill made. A measured rate stands, unless it leaves no burst.
  const givenBack = accepted - (known.measured ? known.rate / RATE_MARGIN : 2 * overall) * sendingMs;
  const pastBurst = accepted >= known.burst + LEARNING_SAMPLE;
  const openedWhole = !known.measured && accepted >= known.burst;
  const proven = pastBurst ? Math.floor(Math.min(accepted, known.ceiling)) : openedWhole ? known.burst : 1;
  if (known.measured && givenBack >= 1) {
    return { ...known, ...bound, ...whole, burst: Math.max(proven, Math.floor(givenBack)) };
  }
  // Otherwise the rate may be anything above what came through: the pace probes upward from it.
  // Short of it, what got through still holds what the refill made while it went: a tenth off, so
  // that the next opening does not overshoot again by that (each overshoot of a small bucket costs a
  // whole hold).
  const burst = short ? Math.max(1, Math.floor(0.9 * accepted)) : Math.max(proven, Math.floor(givenBack));
  return { ...known, ...bound, ...whole, rate: overall, burst, measured: false };
}

/** The rate, when this interval and the one before tell it; nothing when they cannot. */
function measuredAgainst(seen: HoldSeen, known: Learned, overall: number): Lesson | undefined {
  const { accepted, heldMs, sendingMs } = seen;
  // Two holds as long give back as much: what one interval got beyond the other, it got from the
  // refill in the time it sent longer.
  const last = known.seen;
  const [more, longer] = [accepted - last.accepted, sendingMs - last.sendingMs];
  const alike = Math.abs(heldMs - last.heldMs) <= 0.05 * heldMs;
  const afterFull = last.heldMs === 0 && !known.measured && known.burst < last.accepted;
  // Two holds as long tell the refill only over a tenth of the hold at least: two intervals that
  // were each an opening burst met at once differ by stragglers, a few answers in a few ms (hundreds
  // a second). (Against the first interval, the bound below keeps the rate down.)
  const lasting = Math.abs(longer) >= 0.1 * heldMs;
  if (((alike && lasting) || (afterFull && more > 0)) && Math.abs(more) >= LEARNING_SAMPLE && more * longer > 0) {
    // Against the first interval, whose start is dated only as well as its first answer (and whose
    // count a fleet may see short: answers still on their way to the shared pace when the 429
    // landed), the lower of that and what came beyond the opening the hold's answers gave, over the
    // sending.
    const refill = alike ? more / longer : Math.min(more / longer, (accepted - known.burst) / sendingMs);
    const givenBack = Math.max(1, accepted - refill * sendingMs);
    const rate = Math.max(overall, refill) * RATE_MARGIN;
    const burst = Math.max(1, Math.floor(0.9 * givenBack));
    return { ...known, rate, burst, ceiling: givenBack, ceilingHoldMs: heldMs, measured: true };
  }
  // Holds of different lengths that each gave back only their refill agree on the rate: the holds
  // did not fill the budget, so all that came through came at the rate (the gate's own holds, after
  // 429s without Retry-After, vary so).
  const lastOverall = last.accepted / Math.max(1, last.heldMs + last.sendingMs);
  const unlike = Math.abs(heldMs - last.heldMs) >= 0.2 * Math.max(heldMs, last.heldMs) && last.heldMs > 0;
  if (unlike && accepted < known.ceiling && Math.abs(overall - lastOverall) <= 0.1 * overall) {
    return { ...known, rate: overall * RATE_MARGIN, measured: true };
  }
  // More than a hold can give back: what came beyond it came at the rate while the gate paced.
  const beyond = accepted - known.ceiling;
  if (beyond >= LEARNING_SAMPLE && sendingMs > 0 && heldMs <= known.ceilingHoldMs) {
    const rate = Math.max(overall, beyond / sendingMs) * RATE_MARGIN;
    // The ceiling holds what the refill made while the burst went: the pace opens a little short of it.
    return { ...known, rate, burst: Math.max(1, Math.floor(0.9 * known.ceiling)), measured: true };
  }
  return undefined;
}

/** What an answer's rate-limit headers say: what remains and when it renews, and any declared policy. */
export interface RateLimitReading {
  remaining?: number;
  /** ms from the answer until the budget renews. */
  resetMs?: number;
  /** The policy: `quota` requests per `windowMs`. */
  quota?: number;
  windowMs?: number;
}

const parameter = (field: string | null, names: string): number | undefined => {
  const match = field && new RegExp(`(?:^|[;,\\s])(?:${names})=(\\d+(?:\\.\\d+)?)`).exec(field);
  return match ? Number(match[1]) : undefined;
};
const whole = (field: string | null): number | undefined =>
  field !== null && /^\s*\d+(?:\.\d+)?\s*$/.test(field) ? Number(field) : undefined;

/** A reset in seconds from now, or a time in epoch seconds (as GitHub sends) or milliseconds. */
function resetFrom(value: number | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  if (value > 1e12) return Math.max(0, value - now);
  if (value > 1e9) return Math.max(0, value * 1000 - now);
  return value * 1000;
}

/**
 * Reads X-RateLimit-Limit/Remaining/Reset, RateLimit-Limit/Remaining/Reset, and the IETF draft's
 * `RateLimit: "default";r=50;t=30` (or `limit=, remaining=, reset=`) and `RateLimit-Policy:
 * "default";q=100;w=60`. Nothing when the answer carries none of them.
 */
export function readRateLimitHeaders(headers: Headers, now: number): RateLimitReading | undefined {
  const legacyRemaining = headers.get("x-ratelimit-remaining") ?? headers.get("ratelimit-remaining");
  const field = headers.get("ratelimit");
  const policy = headers.get("ratelimit-policy");
  if (legacyRemaining === null && field === null && policy === null) return undefined;
  const reading: RateLimitReading = {};
  const remaining = whole(legacyRemaining) ?? parameter(field, "r|remaining");
  const reset =
    whole(headers.get("x-ratelimit-reset") ?? headers.get("ratelimit-reset")) ?? parameter(field, "t|reset");
  if (remaining !== undefined) reading.remaining = remaining;
  const resetMs = resetFrom(reset, now);
  if (resetMs !== undefined) reading.resetMs = resetMs;
  const quota = parameter(policy, "q") ?? (policy === null ? undefined : whole(policy.split(";")[0] ?? null));
  const windowSeconds = parameter(policy, "w");
  if (quota !== undefined && windowSeconds !== undefined && quota > 0 && windowSeconds > 0) {
    reading.quota = quota;
    reading.windowMs = windowSeconds * 1000;
  }
  return reading;
}

/** What a Pace keeps beside its public fields (Pace's #books says what each is). */
interface Books {
  tokens: number;
  countedAt: number;
  holdStart: number;
  holdEnd: number;
  accepted: number;
  probeStep: number;
  slowdown: number;
  lastRaise: number;
  learnedAt: number;
  quietMs: number;
  told: number;
  toldResetAt: number;
  declared: boolean;
  renewed: number;
  firstCount: number;
  firstSendingMs: number;
  refused: number;
  overshot: number;
}

/** A Pace as plain data (Pace.snapshot): the numbers it keeps, and what the holds so far taught. */
export interface PaceSnapshot extends Books {
  pausedUntil: number;
  rate: number;
  burst: number;
  holds: number;
  measured: boolean;
  known: Learned | null;
}

const SNAPSHOT_NUMBERS = [
  "pausedUntil",
  "rate",
  "burst",
  "holds",
  "tokens",
  "countedAt",
  "holdStart",
  "holdEnd",
  "accepted",
  "probeStep",
  "slowdown",
  "lastRaise",
  "learnedAt",
  "quietMs",
  "told",
  "toldResetAt",
  "renewed",
  "firstCount",
  "firstSendingMs",
  "refused",
  "overshot",
] as const;
const LEARNED_NUMBERS = ["rate", "burst", "ceiling", "ceilingHoldMs", "wholeAfterMs"] as const;
const SEEN_NUMBERS = ["accepted", "heldMs", "sendingMs", "retryAfterMs"] as const;

/** Every field a number (∞ allowed: a ceiling no hold has bounded yet), and nothing missing. */
const numbers = (value: Record<string, unknown>, fields: readonly string[]) =>
  fields.every((field) => typeof value[field] === "number" && !Number.isNaN(value[field]));
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

function isSnapshot(value: unknown): value is PaceSnapshot {
  if (!isRecord(value) || !numbers(value, SNAPSHOT_NUMBERS)) return false;
  if (typeof value.measured !== "boolean" || typeof value.declared !== "boolean") return false;
  const { known } = value;
  if (known === null) return true;
  return (
    isRecord(known) &&
    numbers(known, LEARNED_NUMBERS) &&
    typeof known.measured === "boolean" &&
    isRecord(known.seen) &&
    numbers(known.seen, SEEN_NUMBERS)
  );
}

/** The books' fields that a pace kept by an older version lacks, as it would have counted them. */
const ADDED_SINCE = { renewed: 0, firstCount: 0, firstSendingMs: 0, refused: 0, overshot: 0 };

/** A lower bound doubles every this much of the hold it was learned at, within these bounds (ms). */
const probeStep = (holdMs: number) => Math.min(1_000, Math.max(20, holdMs / 10));

/**
 * How long a measured rate goes without a 429 before it is raised (ms): twice the hold, and, once a
 * raise was seen to overshoot, as many times longer as the hold outlasts what the burst refills
 * (`outlasts`, a bucket of 40 at 100/s behind a 1 s hold near threefold): each raise that overshoots
 * costs such a hold, and a small budget would be overshot every few seconds. Until then a rate
 * measured low (a fleet's first count seen short) climbs back at the usual pace; and five times at
 * most, well within the minute the pace is kept.
 */
const quietStretch = (holdMs: number, outlasts: number) =>
  Math.max(1_000, 2 * holdMs) * Math.min(5, Math.max(1, outlasts));

/**
 * What the server was seen to accept, as a pace (the model at the top of this file): how long to
 * hold everything, how many may go at once (the server's burst) and how many a millisecond after
 * that. Pure arithmetic over the times it is given.
 */
export class Pace {
  /** Nothing goes before this time (ms since the epoch). */
  pausedUntil = 0;
  /** Requests per ms once a limit has been met; 0 until then, meaning "as fast as asked". */
  rate = 0;
  /** How many may go at once when the pace allows. */
  burst = 1;
  /** Bumped whenever waits already reserved may be wrong (a hold, a longer one), so they are reserved again. */
  holds = 0;
  /** The rate was measured, not only bounded from below. */
  measured = false;
  // What the pace keeps beside, plain numbers and a flag (the model at the top of this file says why each):
  // - the budget as the pace counts it: `tokens` left at `countedAt`, which is later than now when
  //   slots are reserved ahead. Counted, not kept as a GCRA arrival time, so that the rate may change
  //   under it (a probe doubles it) without moving slots already earned;
  // - the interval the next hold learns from: the previous hold's start and end, what got through since,
  //   and what got through during the hold (sent before it: what the refill made while it began);
  // - a first hold that found too few accepted to teach: how many were (`firstCount`), in how long,
  //   and how many calls have met the hold since (`refused`);
  // - the probe's step and slowdown, the last raise of a measured rate and the quiet stretch before
  //   one, and whether a raise was seen to overshoot (`overshot` 1: a hold came after one);
  // - when the pace was last borne out (a hold's end, a declared policy): it is forgotten a minute later;
  // - what the last rate-limit headers said remains (`told`, -1: no reading), until when;
  // - whether the rate is one a policy declared: what the server said, which no quiet stretch raises.
  #books: Books = {
    ...{ tokens: 0, countedAt: 0, holdStart: -1, holdEnd: -1, accepted: 0 },
    ...{ probeStep: 100, slowdown: 1, lastRaise: 0, learnedAt: 0, quietMs: 1_000, told: -1, toldResetAt: 0 },
    declared: false,
    ...{ renewed: 0, firstCount: 0, firstSendingMs: 0, refused: 0, overshot: 0 },
  };
  #known: Learned | undefined;

  /** Everything the pace knows, as plain data: what a shared store keeps so that a fleet paces by one model. */
  snapshot(): PaceSnapshot {
    const { pausedUntil, rate, burst, holds, measured } = this;
    return { pausedUntil, rate, burst, holds, measured, ...this.#books, known: this.#known ?? null };
  }

  /** The pace a snapshot describes; nothing when `value` is not one (a store that kept something else). */
  static restore(value: unknown): Pace | undefined {
    // A pace that a process of an older version kept in a shared store lacks the fields added since:
    // it counted none. Taken as such, so that a fleet being upgraded keeps sharing one pace.
    const kept = isRecord(value) ? { ...ADDED_SINCE, ...value } : value;
    if (!isSnapshot(kept)) return undefined;
    const pace = new Pace();
    const { pausedUntil, rate, burst, holds, measured, known, ...books } = kept;
    Object.assign(pace, { pausedUntil, rate, burst, holds, measured });
    pace.#books = books;
    pace.#known = known ?? undefined;
    return pace;
  }

  /** Nothing goes before this: a 429's hold, or the reset of a budget the headers said is spent. */
  heldUntil(now: number): number {
    const spent = this.#books.told === 0 && now < this.#books.toldResetAt;
    return spent ? Math.max(this.pausedUntil, this.#books.toldResetAt) : this.pausedUntil;
  }

  /** Reserves the next slot; returns how long to wait for it (0: go now). */
  reserve(now: number): number {
    if (this.#books.holdStart < 0) this.#books.holdStart = this.#books.holdEnd = now;
    if (this.rate > 0 && now - this.#books.learnedAt > FORGET_PACE_MS) this.#forget(now);
    let start = Math.max(now, this.pausedUntil);
    if (this.#books.told >= 0) start = this.#spendTold(start);
    if (this.rate === 0) return start - now;
    let at = Math.max(start, this.#books.countedAt);
    const rate = this.measured ? this.rate : this.#probed(at);
    // A probe begins where the burst the pace opened on ends: while that burst is being sent (at the
    // concurrency cap, or by a fleet) a window gives nothing more, and the probe's first 429 is
    // all it needs to say when the next window starts.
    const probing = !this.measured && this.#books.tokens >= 1;
    const refilled = probing ? 0 : (at - this.#books.countedAt) * rate;
    const tokens = Math.min(this.burst, this.#books.tokens + refilled);
    if (tokens < 1) at += (1 - tokens) / rate;
    this.#books.tokens = Math.max(0, tokens - 1);
    this.#books.countedAt = at;
    return at - now;
  }

  accepted(now: number, reading?: RateLimitReading): void {
    if (reading) this.#read(now, reading);
    // An answer during a hold was sent before it, and belongs to the interval the hold ended.
    if (now < this.pausedUntil) {
      this.#straggled(now, 1);
      return;
    }
    // A full budget stays full until the first request reaches it, which its answer dates best: a
    // cold process's first round trips are slow, and counting them as sending would count refill
    // that never was.
    const { accepted, holdStart, holdEnd } = this.#books;
    if (accepted === 0 && holdStart === holdEnd && this.#known === undefined)
      this.#books.holdStart = this.#books.holdEnd = now;
    this.#books.accepted++;
    const raisable = this.measured && !this.#books.declared;
    if (raisable && now - Math.max(this.pausedUntil, this.#books.lastRaise) > this.#books.quietMs) {
      this.rate *= 1.1;
      this.#books.lastRaise = now;
    }
  }

  limited(now: number, retryAfterMs: number, reading?: RateLimitReading): void {
    if (reading) this.#read(now, reading);
    const until = now + retryAfterMs;
    // The other calls in flight when the limit was met answer 429 too: one hold, one estimate.
    if (now < this.pausedUntil) {
      if (until > this.pausedUntil) this.#hold(until);
      this.#straggled(now, 0);
      this.#refusedAtFirstHold();
      return;
    }
    // A hold after a raise: the raise overshot.
    if (this.#books.lastRaise > this.pausedUntil) this.#books.overshot = 1;
    const seen = {
      accepted: this.#books.accepted,
      heldMs: this.#books.holdEnd - this.#books.holdStart,
      sendingMs: now - this.#books.holdEnd,
      retryAfterMs,
    };
    const learned = learnFromHold(seen, this.#known);
    if (learned) this.#learn(learned);
    // What a first hold found too few to teach from may teach yet: the calls that meet it say (#refusedAtFirstHold).
    this.#books.firstCount = seen.accepted;
    this.#books.firstSendingMs = seen.sendingMs;
    this.#books.refused = 1;
    this.#books.holdStart = now;
    this.#books.accepted = this.#books.renewed = 0;
    // A probe that ran for a while and still taught no rate met others spending the same budget
    // (a fleet, each with its own gate): the next one climbs half as fast, so they do not all
    // overshoot at once. A measured rate starts the climb afresh.
    const probedLong = seen.sendingMs >= 2 * this.#books.probeStep;
    this.#books.slowdown = this.measured
      ? 1
      : probedLong
        ? Math.min(16, 2 * this.#books.slowdown)
        : this.#books.slowdown;
    this.#books.probeStep = probeStep(retryAfterMs) * this.#books.slowdown;
    const overshoots = this.measured && this.#books.overshot === 1;
    this.#books.quietMs = quietStretch(retryAfterMs, overshoots ? (retryAfterMs * this.rate) / this.burst : 1);
    this.#hold(until);
  }

  #learn(learned: Learned): void {
    ({ rate: this.rate, burst: this.burst, measured: this.measured } = learned);
    this.#known = learned;
    this.#books.declared = false;
  }

  /**
   * Another 429 of a first hold that found too few accepted to teach: when LEARNING_SAMPLE calls,
   * accepted or refused, met the budget at once, the client spent it itself, and what got through
   * is the burst (a bucket of 5 gives no more), not a share left by others spending the same token.
   */
  #refusedAtFirstHold(): void {
    const { firstCount, firstSendingMs } = this.#books;
    // Nothing got through to pace on; or the hold taught already, or a policy said the budget.
    if (firstCount === 0 || this.#known !== undefined) return;
    this.#books.refused++;
    if (firstCount + this.#books.refused < LEARNING_SAMPLE) return;
    const retryAfterMs = this.pausedUntil - this.#books.holdStart;
    const seen = { accepted: firstCount, heldMs: 0, sendingMs: firstSendingMs, retryAfterMs };
    this.#learn({ ...firstLesson(seen), seen });
    this.#books.firstCount = 0;
    this.#reopenOnBurst();
  }

  /**
   * The first hold gives the whole burst back (#hold) at its end: once what it taught changes the
   * burst, the slots already reserved from the opening are reserved again, from this one.
   */
  #reopenOnBurst(): void {
    this.#books.tokens = this.burst;
    this.#books.countedAt = this.pausedUntil;
    this.holds++;
  }

  #hold(until: number): void {
    this.pausedUntil = until;
    this.#books.learnedAt = until;
    this.#books.holdEnd = until;
    this.#books.lastRaise = until;
    // A hold long enough gives the whole burst back (a window renews at its start); a shorter one
    // only what the refill makes from the 429 on.
    const held = until - this.#books.holdStart;
    const whole = held >= 0.9 * (this.#known?.wholeAfterMs ?? 0);
    this.#books.tokens = whole ? this.burst : 0;
    this.#books.countedAt = whole ? until : this.#books.holdStart;
    this.holds++;
  }

  /**
   * An answer (`accepted` 1, or a 429) to a request in flight when the hold began. During the first
   * hold, those accepted say the budget renews as it goes (a bucket; a window gives nothing before
   * its end): the first count held what they came at, over the time it took, of refill.
   */
  #straggled(now: number, accepted: number): void {
    this.#books.renewed += accepted;
    const known = this.#known;
    // A declared policy or a measured rate says the burst already.
    if (known === undefined || known.seen.heldMs !== 0 || this.measured) return;
    const refill = this.#books.renewed / Math.max(1, now - this.#books.holdStart);
    const first = known.seen;
    // Nine tenths of what that refill left of the count: a few answers tell a refill only roughly,
    // and an opening one past a small bucket's burst costs a whole hold, where one a few short costs
    // the few. Half at least: a few answers in a millisecond or two may say a refill far too fast.
    const left = first.accepted - refill * first.sendingMs;
    const opened = refill > 0 ? Math.floor(0.9 * left) : first.accepted;
    const burst = Math.max(Math.ceil(first.accepted / 2), Math.min(firstOpening(first.accepted), opened));
    // The probe climbs from under the refill, so that its 429 measures it (above, a 429 comes at once).
    const rate = refill > 0 ? Math.min(guessedRate(first), refill / 2) : guessedRate(first);
    if (burst === this.burst && rate === this.rate) return;
    this.burst = burst;
    this.rate = rate;
    this.#known = { ...known, burst, rate };
    this.#reopenOnBurst();
  }

  /** A lower bound, doubled every probe step since the hold ended. */
  #probed(at: number): number {
    const steps = Math.min(30, Math.max(0, at - this.pausedUntil) / this.#books.probeStep);
    return this.rate * 2 ** steps;
  }

  /** Takes one from what the headers said remains; returns when it may go (the reset when nothing does). */
  #spendTold(start: number): number {
    if (start >= this.#books.toldResetAt) {
      this.#books.told = -1;
      return start;
    }
    if (this.#books.told === 0) return this.#books.toldResetAt;
    this.#books.told--;
    return start;
  }

  #read(now: number, { remaining, resetMs, quota, windowMs }: RateLimitReading): void {
    if (remaining !== undefined && resetMs !== undefined) {
      // What remains until the reset says all a window needs; a pace from the policy would only
      // spread the next window's budget over it.
      this.#books.told = Math.max(0, Math.floor(remaining));
      this.#books.toldResetAt = now + resetMs;
    } else if (quota !== undefined && windowMs !== undefined) {
      this.#books.learnedAt = now;
      if (!this.measured) this.#declared(now, quota, windowMs);
    }
  }

  /** A policy the server declared: `quota` at once, then at its rate. */
  #declared(now: number, quota: number, windowMs: number): void {
    this.rate = quota / windowMs;
    this.burst = quota;
    this.measured = true;
    this.#books.declared = true;
    this.#books.tokens = quota;
    this.#books.countedAt = now;
    const seen = { accepted: 0, heldMs: 0, sendingMs: 0, retryAfterMs: 0 };
    const whole = { ceiling: quota, ceilingHoldMs: Number.POSITIVE_INFINITY, wholeAfterMs: 0 };
    this.#known = { rate: this.rate, burst: quota, ...whole, measured: true, seen };
  }

  #forget(now: number): void {
    this.rate = 0;
    this.burst = 1;
    this.measured = false;
    this.#known = undefined;
    this.#books.slowdown = 1;
    this.#books.overshot = 0;
    this.#books.holdStart = this.#books.holdEnd = now;
    this.#books.accepted = 0;
  }
}

// Each entry of the built package (the main one, planetscale-roles/redis) carries its own copy of
// this file, so a refusal is known by this mark rather than by its class (and a mark made at load,
// a Symbol.for, would stay in every bundle of the package, gate or none).
const HOLD_TOO_LONG = "planetscale-roles.holdTooLong";

/** Why a built-in limiter refused a call at once: every call is held `heldMs` more, past its longest hold. */
export class HoldTooLong {
  readonly mark = HOLD_TOO_LONG;
  constructor(readonly heldMs: number) {}
  static is(value: unknown): value is HoldTooLong {
    return (value as Partial<HoldTooLong> | null)?.mark === HOLD_TOO_LONG;
  }
}

/** A refusal when the pace holds every call longer than `longestHoldMs` from `now`; nothing otherwise. */
export function refusedHold(pace: Pace, now: number, longestHoldMs: number | undefined): HoldTooLong | undefined {
  const heldMs = pace.heldUntil(now) - now;
  return heldMs > (longestHoldMs ?? Number.POSITIVE_INFINITY) ? new HoldTooLong(heldMs) : undefined;
}

/** `work`, or the signal's reason as soon as it aborts, whatever `work` does with the signal. */
export function untilAborted<T>(work: PromiseLike<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return Promise.resolve(work);
  return new Promise<T>((resolve, reject) => {
    const follower = AbortSignal.any([signal]);
    const onAbort = () => reject(signal.reason);
    follower.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(work)
      .then(resolve, reject)
      .finally(() => follower.removeEventListener("abort", onAbort));
    if (signal.aborted) onAbort();
  });
}

/**
 * The in-memory limiter: one per client unless you pass one to several clients. `clock`: where its
 * waits and readings of the time come from (default the real one; tests pass one they steer).
 */
export function createRateLimiter({ clock = systemClock }: { clock?: Clock } = {}): RateLimiter {
  const pace = new Pace();
  /** How long to wait for the next slot from now, or the refusal of a hold past what the call waits out (nothing reserved). */
  const nextTurn = (longestHoldMs: number | undefined): number | HoldTooLong => {
    const now = clock.now();
    return refusedHold(pace, now, longestHoldMs) ?? pace.reserve(now);
  };
  const wait = async (delay: number, holds: number, signal?: AbortSignal, longestHoldMs?: number): Promise<void> => {
    await clock.sleep(delay, signal);
    // A hold that began while this call waited moves it behind the hold, or refuses it.
    if (pace.holds !== holds) {
      const again = nextTurn(longestHoldMs);
      if (typeof again !== "number") throw again;
      if (again > 0) return wait(again, pace.holds, signal, longestHoldMs);
    }
  };
  const read = (headers: Headers | undefined) => (headers ? readRateLimitHeaders(headers, clock.now()) : undefined);
  return {
    acquire(signal, _timeLeftMs, longestHoldMs) {
      const delay = nextTurn(longestHoldMs);
      if (typeof delay !== "number") return Promise.reject(delay);
      return delay > 0 ? wait(delay, pace.holds, signal, longestHoldMs) : undefined;
    },
    limited: (retryAfterMs, headers) => pace.limited(clock.now(), retryAfterMs, read(headers)),
    accepted: (headers) => pace.accepted(clock.now(), read(headers)),
  };
}

/** Caps the calls in flight; the ones over the cap wait in order, each with its own signal. */
export class ConcurrencyGate {
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];
  constructor(readonly max: number) {}

  /** Takes a place; returns nothing when one is free at once. */
  enter(signal: AbortSignal | undefined): Promise<void> | undefined {
    if (this.#inFlight < this.max) {
      this.#inFlight++;
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      const follower = signal ? AbortSignal.any([signal]) : undefined;
      const admit = () => {
        follower?.removeEventListener("abort", leave);
        this.#inFlight++;
        resolve();
      };
      const leave = () => {
        const index = this.#waiting.indexOf(admit);
        if (index >= 0) this.#waiting.splice(index, 1);
        // Stryker disable next-line OptionalChaining: leave listens only on the follower, which exists only with a signal
        reject(signal?.reason);
      };
      follower?.addEventListener("abort", leave, { once: true });
      this.#waiting.push(admit);
    });
  }

  leave(): void {
    this.#inFlight--;
    this.#waiting.shift()?.();
  }
}

export interface Gate {
  concurrency: ConcurrencyGate;
  limiter: RateLimiter | undefined;
  /** enterGate on this gate: called through the gate, so that a context without one carries none of it. */
  enter(signal: AbortSignal | undefined, timeLeftMs?: () => number, call?: GateCall): Promise<void> | undefined;
}

/** The call at the gate: its operation, and the longest 429 hold it waits out (backoff.maxRetryAfterMs). */
export interface GateCall {
  operation: string;
  settings: { maxRetryAfterMs: number };
}

/** A client's gate: at most `maxConcurrency` calls in flight, then the limiter's pace. */
export function createGate(maxConcurrency: number, limiter: RateLimiter | undefined): Gate {
  const gate: Gate = {
    concurrency: new ConcurrencyGate(maxConcurrency),
    limiter,
    enter: (signal, timeLeftMs, call) => enterGate(gate, signal, timeLeftMs, call),
  };
  return gate;
}

/**
 * Takes a place at both gates. Returns nothing when both let the call through at once, so that a
 * client that never meets a limit pays no promise for the gate. Rejects with the signal's reason.
 */
export function enterGate(
  gate: Omit<Gate, "enter">,
  signal: AbortSignal | undefined,
  timeLeftMs?: () => number,
  call?: GateCall,
): Promise<void> | undefined {
  const place = gate.concurrency.enter(signal);
  if (place) return place.then(() => takeTurn(gate, signal, timeLeftMs, call));
  return takeTurn(gate, signal, timeLeftMs, call);
}

function takeTurn(
  gate: Omit<Gate, "enter">,
  signal: AbortSignal | undefined,
  timeLeftMs: (() => number) | undefined,
  call: GateCall | undefined,
): Promise<void> | undefined {
  let turn: unknown;
  try {
    // Measured after the wait for a place, which spent some of the call's time.
    turn = gate.limiter?.acquire(signal, timeLeftMs?.(), call?.settings.maxRetryAfterMs);
  } catch (error) {
    gate.concurrency.leave();
    throw refusal(error, signal, call);
  }
  // A store's answer that is no promise lets the call go, as nothing does; one that never settles
  // still ends at the call's deadline.
  if (typeof (turn as PromiseLike<void> | undefined)?.then !== "function") return undefined;
  return untilAborted(turn as PromiseLike<void>, signal).catch((reason: unknown) => {
    gate.concurrency.leave();
    throw refusal(reason, signal, call);
  });
}

/**
 * What a limiter's refusal is to the call: the signal's own reason stays (a timeout or an abort at
 * the gate, which the pipeline words); a hold too long is the server's refusal, anything else the
 * limiter failing. Either way nothing was sent.
 */
function refusal(reason: unknown, signal: AbortSignal | undefined, call: GateCall | undefined): unknown {
  if (!call || (signal?.aborted && reason === signal.reason)) return reason;
  if (HoldTooLong.is(reason)) return holdTooLong(call.operation, reason.heldMs, call.settings.maxRetryAfterMs);
  return limiterFailed(call.operation, reason);
}
