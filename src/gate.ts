// At the rate limit, a client acts as one. Every attempt of a client passes one gate: at most
// maxConcurrency in flight, and a rate limiter that a 429 closes for every call until Retry-After
// has passed, then opens at the pace the server was seen to accept. Waiting here spends no retry.
import { type Clock, systemClock } from "./clock.ts";

/**
 * A request budget. The default is one per client, in memory; pass one limiter to several clients
 * to share it, or `createRedisRateLimiter` from `planetscale-roles/redis` to share it across processes.
 */
export interface RateLimiter {
  /**
   * Resolves when one more request may be sent, and counts it. Returns nothing when it may go at
   * once. Rejects with the signal's reason as soon as the signal aborts. `timeLeftMs`: how long the
   * call may still wait before its deadline, so that a store can tell a wait it should not ask for.
   */
  acquire(signal?: AbortSignal, timeLeftMs?: number): Promise<void> | undefined;
  /** The server answered 429: nothing is sent before `retryAfterMs` from now; then the pace is learned. */
  limited(retryAfterMs: number): void;
  /** The server answered something other than 429: the pace is learned from these. */
  accepted(): void;
  /**
   * Told once by each client that uses the limiter, before its first call: the hex SHA-256 of its
   * Authorization value (never the credentials), so that a shared store can keep one budget a token.
   */
  bind?(identity: string | PromiseLike<string>): void;
}

/**
 * Fewer answers than this between two holds teach nothing: a 429 met by a client that was barely
 * sending came from others spending the same token, and says nothing of the pace the server takes.
 */
export const LEARNING_SAMPLE = 10;

/**
 * A minute after the last hold ended the API's per-minute budget has renewed whole: the pace is
 * forgotten, and calls go as fast as they are made until the next 429.
 */
export const FORGET_PACE_MS = 60_000;

/**
 * The pace a hold teaches, from what got through since the previous hold (`accepted` answers in
 * `windowMs`) and the server's wait; nothing when too few got through to tell. Pure, so that a
 * shared store learns the same way.
 */
export function paceAfterHold(
  rate: number,
  accepted: number,
  windowMs: number,
  retryAfterMs: number,
): { rate: number; burst: number } | undefined {
  if (accepted < LEARNING_SAMPLE) return undefined;
  // What got through since the last hold, over at least one hold's length: a server that let
  // `accepted` through and then asked for `retryAfterMs` refills about that many in that time.
  // What got through also holds what the server refilled while it was let through, so both the
  // rate and the burst are taken a little short of what was seen: overshooting costs a hold.
  const seen = (0.95 * accepted) / Math.max(windowMs, retryAfterMs);
  const learned = rate === 0 ? seen : Math.min(rate * 0.9, Math.max(seen, rate * 0.5));
  return { rate: learned, burst: Math.max(1, Math.floor(0.9 * Math.min(accepted, retryAfterMs * learned))) };
}

/**
 * Probe upwards: after each quiet stretch as long as a hold, ask for a quarter more. Returns the
 * raised rate, or nothing while no raise is due (`lastRaiseAt` is when the last one was made).
 */
export function raisedRate(rate: number, now: number, pausedUntil: number, lastRaiseAt: number): number | undefined {
  return rate > 0 && now - Math.max(pausedUntil, lastRaiseAt) > 1_000 ? rate * 1.25 : undefined;
}

/**
 * What the server was seen to accept, as a pace: how long to hold everything, how many requests
 * may go at once after a hold (the server's burst) and how many a millisecond after that. Pure
 * arithmetic over the times it is given, so a shared store can keep the same state.
 */
export class Pace {
  /** Nothing goes before this time (ms since the epoch). */
  pausedUntil = 0;
  /** Requests per ms once a limit has been met; 0 until then, meaning "as fast as asked". */
  rate = 0;
  /** How many may go at once when the pace allows: learned as what one hold let through. */
  burst = 1;
  /** Bumped at every hold, so that a wait reserved before it is reserved again. */
  holds = 0;
  // GCRA's theoretical arrival time: the next slot, which may be used up to burst - 1 slots early.
  #nextSlot = 0;
  #windowStart: number | undefined;
  #acceptedInWindow = 0;
  #lastRaise = 0;

  /** Reserves the next slot; returns how long to wait for it (0: go now). */
  reserve(now: number): number {
    this.#windowStart ??= now;
    if (this.rate > 0 && now - this.pausedUntil > FORGET_PACE_MS) this.rate = 0;
    const start = Math.max(now, this.pausedUntil);
    if (this.rate === 0) return start - now;
    const interval = 1 / this.rate;
    const slot = Math.max(this.#nextSlot, start);
    this.#nextSlot = slot + interval;
    return Math.max(start, slot - (this.burst - 1) * interval) - now;
  }

  accepted(now: number): void {
    this.#acceptedInWindow++;
    const raised = raisedRate(this.rate, now, this.pausedUntil, this.#lastRaise);
    if (raised !== undefined) {
      this.rate = raised;
      this.#lastRaise = now;
    }
  }

  limited(now: number, retryAfterMs: number): void {
    const until = now + retryAfterMs;
    // The other calls in flight when the limit was met answer 429 too: one hold, one estimate.
    if (now < this.pausedUntil) {
      this.pausedUntil = Math.max(this.pausedUntil, until);
      return;
    }
    const learned = paceAfterHold(this.rate, this.#acceptedInWindow, now - (this.#windowStart ?? now), retryAfterMs);
    if (learned) ({ rate: this.rate, burst: this.burst } = learned);
    this.pausedUntil = until;
    this.#nextSlot = until;
    this.#windowStart = now;
    this.#acceptedInWindow = 0;
    this.#lastRaise = until;
    this.holds++;
  }
}

/**
 * The in-memory limiter: one per client unless you pass one to several clients. `clock`: where its
 * waits and readings of the time come from (default the real one; tests pass one they steer).
 */
export function createRateLimiter({ clock = systemClock }: { clock?: Clock } = {}): RateLimiter {
  const pace = new Pace();
  const wait = async (delay: number, holds: number, signal: AbortSignal | undefined): Promise<void> => {
    await clock.sleep(delay, signal);
    // A hold that began while this call waited moves it behind the hold.
    if (pace.holds !== holds) {
      const again = pace.reserve(clock.now());
      if (again > 0) return wait(again, pace.holds, signal);
    }
  };
  return {
    acquire(signal) {
      const delay = pace.reserve(clock.now());
      return delay > 0 ? wait(delay, pace.holds, signal) : undefined;
    },
    limited: (retryAfterMs) => pace.limited(clock.now(), retryAfterMs),
    accepted: () => pace.accepted(clock.now()),
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
}

/**
 * Takes a place at both gates. Returns nothing when both let the call through at once, so that a
 * client that never meets a limit pays no promise for the gate. Rejects with the signal's reason.
 */
export function enterGate(
  gate: Gate,
  signal: AbortSignal | undefined,
  timeLeftMs?: () => number,
): Promise<void> | undefined {
  const place = gate.concurrency.enter(signal);
  if (place) return place.then(() => takeTurn(gate, signal, timeLeftMs));
  return takeTurn(gate, signal, timeLeftMs);
}

function takeTurn(
  gate: Gate,
  signal: AbortSignal | undefined,
  timeLeftMs: (() => number) | undefined,
): Promise<void> | undefined {
  let turn: Promise<void> | undefined;
  try {
    // Measured after the wait for a place, which spent some of the call's time.
    turn = gate.limiter?.acquire(signal, timeLeftMs?.());
  } catch (error) {
    gate.concurrency.leave();
    throw error;
  }
  return turn?.catch((reason: unknown) => {
    gate.concurrency.leave();
    throw reason;
  });
}
