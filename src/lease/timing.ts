// When a lease acts: pure functions of the clock's time and a random source, so that tests assert
// exact renew points, jitter bounds and backoffs without waiting.
//
// The rule, and where it comes from:
// - Vault's LifetimeWatcher (api/lifetime_watcher.go) sleeps two thirds of the remaining lease plus
//   a third of a random 10-20 % grace, i.e. renews with a little under a third left; Google's Cloud
//   SQL connector (src/time.ts) refreshes at half the remaining validity, or 4 minutes before the
//   end when less than an hour remains. We renew `renewBeforeMs` before `expires_at` (default a
//   third of the ttl, as Vault), moved earlier at random by up to a tenth of renewBeforeMs so that
//   a fleet started together does not renew together. Never later: renewBeforeMs is a promise of
//   headroom. Each answer's own `expires_at` is the new base, never our arithmetic.
// - A failed attempt is tried again after a backoff of 10 s doubling up to 5 minutes (Vault's
//   numbers), jittered on its upper half, at least the server's Retry-After, and never past the
//   moment the next kind of action must take over (the replace point for a renewal).
// - A failed replacement is tried again after the same backoff, but while the current role still
//   works, after at most half the time it has left: each try has as long to finish as it waited,
//   and one lands before the expiry however the backoff stands. Under LAST_TRY_LEAD_MS left no try
//   could finish, and the next waits for the expiry (from then on, the plain backoff).
// - Under a safety margin of a quarter of renewBeforeMs (50 s on a 10-minute ttl, 5 minutes on an
//   hour: about the Cloud SQL connector's 4), renewing is no longer trusted to finish in time: the
//   lease makes a new role and hands it over while the old one still works.

export const RETRY_FIRST_MS = 10_000;
// Five minutes, written as one literal: a bundler keeps an unused `5 * 60_000` (it does not fold
// arithmetic), which put this lease constant into every bundle of the standalone createRole.
export const RETRY_LONGEST_MS = 300_000;
/** The share of renewBeforeMs by which the renew point moves earlier at random, at most. */
export const RENEW_JITTER = 0.1;

/** renewBeforeMs when none is given: a third of the ttl (seconds). */
export function defaultRenewBeforeMs(ttlSeconds: number): number {
  return Math.round((ttlSeconds * 1000) / 3);
}

/** Remaining validity under which a role is replaced rather than renewed. */
export function safetyMarginMs(renewBeforeMs: number): number {
  return Math.round(renewBeforeMs / 4);
}

/** When to renew a role that expires at `expiresAt`: from expiresAt − 1.1 × renewBeforeMs to expiresAt − renewBeforeMs. */
export function renewPoint(expiresAt: number, renewBeforeMs: number, random: () => number): number {
  return expiresAt - renewBeforeMs - Math.round(random() * renewBeforeMs * RENEW_JITTER);
}

/**
 * When to try again after the `failures`-th failure in a row (1 for the first): 10 s doubling to
 * 5 min, jitter on the upper half, at least `retryAfterMs`, and no later than `deadline`.
 */
export function retryPoint(
  now: number,
  failures: number,
  deadline: number,
  random: () => number,
  retryAfterMs = 0,
): number {
  const ceiling = Math.min(RETRY_LONGEST_MS, RETRY_FIRST_MS * 2 ** (failures - 1));
  const backoff = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  return Math.max(now, Math.min(now + Math.max(backoff, retryAfterMs), deadline));
}

/** The least time a try before the expiry must have left to finish in. */
export const LAST_TRY_LEAD_MS = 1_000;

/**
 * When to try again to replace a role that expires at `expiresAt` (undefined: never) after the
 * `failures`-th failure in a row: retryPoint's, but no later than half the time left while that
 * half is at least LAST_TRY_LEAD_MS, else at the expiry; past it, the plain backoff. `spent`: the
 * wait was the whole backoff. A try brought forward spends no step of it, so that the tries near
 * the expiry do not stretch the waits after it, when the lease has no working role.
 */
export function replaceRetryPoint(
  now: number,
  failures: number,
  expiresAt: number | undefined,
  random: () => number,
  retryAfterMs?: number,
): { at: number; spent: boolean } {
  const left = expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt - now;
  const half = Math.floor(left / 2);
  const deadline = half >= LAST_TRY_LEAD_MS ? now + half : left > 0 ? now + left : Number.POSITIVE_INFINITY;
  const backoff = retryPoint(now, failures, Number.POSITIVE_INFINITY, random, retryAfterMs);
  return { at: Math.min(backoff, deadline), spent: backoff <= deadline };
}

/** A role the lease holds, as far as timing goes; every time is ms since the epoch. */
export interface HeldTimes {
  /** undefined: the role does not expire. */
  expiresAt: number | undefined;
  /** When the next renewal (or retry of one) is due; undefined when it does not expire. */
  renewAt: number | undefined;
  /**
   * Answers in a row that left no more than the safety margin: such a role is renewed on the
   * backoff, never replaced for its expiry (a new one would be as short).
   */
  short?: number;
}

export interface LeaseTimes {
  current: HeldTimes & {
    /** When rotateAfterMs has passed since it was made; undefined without rotation. */
    rotateAt: number | undefined;
  };
  /** The role handed over before the current one, until it is deleted. */
  previous: (HeldTimes & { deleteAt: number }) | undefined;
  /** After a failed replacement, none is tried before this. */
  replaceRetryAt: number;
  marginMs: number;
}

export type Work = "delete-previous" | "replace" | "renew" | "renew-previous";

/**
 * When the current role must be replaced: under the safety margin, or at rotation, but a rotation
 * only once the previous role is gone (at most two alive), and never before a failed one's retry.
 */
export function replaceAt(times: LeaseTimes): number {
  const { current, previous, marginMs } = times;
  const expiring =
    current.expiresAt === undefined || current.short ? Number.POSITIVE_INFINITY : current.expiresAt - marginMs;
  const rotation =
    current.rotateAt === undefined ? Number.POSITIVE_INFINITY : Math.max(current.rotateAt, previous?.deleteAt ?? 0);
  return Math.max(Math.min(expiring, rotation), times.replaceRetryAt);
}

/**
 * When the current role is renewed: never once `now` is under the margin, where replacing takes
 * over (else a renewal failing there would be tried again at once, while a failed replacement
 * waits out its backoff).
 */
function currentRenewAt(times: LeaseTimes, now: number): number {
  const { renewAt, expiresAt, short } = times.current;
  if (renewAt === undefined || expiresAt === undefined) return Number.POSITIVE_INFINITY;
  if (short) return renewAt;
  const expiring = expiresAt - times.marginMs;
  return now < expiring && renewAt < expiring ? renewAt : Number.POSITIVE_INFINITY;
}

/** When the previous role needs renewing to last out its grace; never once its delete is due. */
function previousRenewAt(previous: LeaseTimes["previous"]): number {
  const at = previous?.renewAt;
  return previous && at !== undefined && at < previous.deleteAt ? at : Number.POSITIVE_INFINITY;
}

/** What is due at `now`, in the order it is done: the previous role's delete first, so that a replacement finds it gone. */
export function dueWork(times: LeaseTimes, now: number): Work[] {
  const due: Work[] = [];
  if (times.previous && times.previous.deleteAt <= now) due.push("delete-previous");
  if (replaceAt(times) <= now) due.push("replace");
  else if (currentRenewAt(times, now) <= now) due.push("renew");
  if (previousRenewAt(times.previous) <= now) due.push("renew-previous");
  return due;
}

/** The next moment, from `now`, that anything is due (Infinity: nothing ever is, until someone asks). */
export function wakeAt(times: LeaseTimes, now: number): number {
  return Math.min(
    times.previous?.deleteAt ?? Number.POSITIVE_INFINITY,
    replaceAt(times),
    currentRenewAt(times, now),
    previousRenewAt(times.previous),
  );
}
