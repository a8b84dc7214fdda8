// A clock the test steers: time moves only when the test says, and every wait is exact.
import type { Clock } from "../../src/clock.ts";

interface Sleeper {
  at: number;
  resolve: () => void;
  order: number;
  /** Asked with { unref: true }: the wait would not keep a process alive. */
  unref: boolean;
}

export interface ManualClock extends Clock {
  /** Moves time forward by `ms`, waking each sleeper due on the way in order, and letting it run. */
  advance(ms: number): Promise<void>;
  /** Runs time forward until nothing sleeps any more (or `limitMs` has passed). */
  runAll(limitMs?: number): Promise<void>;
  /** The waits asked for so far, in ms, in the order asked. */
  readonly waits: number[];
  /** How many sleepers are waiting now. */
  pending(): number;
  /** How many of them would keep a process alive (asked without { unref: true }). */
  holding(): number;
  /**
   * Moves time forward by `ms` and wakes nobody, as for a process that was frozen (a serverless
   * instance between requests, a blocked event loop): what was due stays due until the next advance.
   */
  jump(ms: number): void;
}

/** Lets every promise callback queued so far (and those they queue) run. */
export async function settle(rounds = 20): Promise<void> {
  for (let round = 0; round < rounds; round++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export interface ManualClockOptions {
  /**
   * Waits of more than a second asked with { unref: true } end this many ms early, as Node's
   * setTimeout at times does measured against Date.now() (the short wait that follows is exact).
   */
  earlyUnrefMs?: number;
}

export function manualClock(start = Date.UTC(2026, 11, 1, 12, 0, 0), options: ManualClockOptions = {}): ManualClock {
  let now = start;
  let order = 0;
  const sleepers: Sleeper[] = [];
  const waits: number[] = [];
  const deadlines: { at: number; controller: AbortController }[] = [];
  const due = () => {
    sleepers.sort((a, b) => a.at - b.at || a.order - b.order);
    return sleepers[0];
  };
  const clock: ManualClock = {
    waits,
    now: () => now,
    pending: () => sleepers.length,
    holding: () => sleepers.filter((sleeper) => !sleeper.unref).length,
    jump(ms) {
      now += ms;
    },
    sleep(ms, signal, sleepOptions) {
      waits.push(ms);
      return new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const unref = sleepOptions?.unref === true;
        const early = unref && ms > 1_000 ? (options.earlyUnrefMs ?? 0) : 0;
        const onAbort = () => {
          const index = sleepers.indexOf(sleeper);
          if (index >= 0) sleepers.splice(index, 1);
          reject(signal?.reason);
        };
        // A wait that ends leaves nothing on the signal: a call's signal outlives many waits at the gate.
        const wake = () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        };
        const sleeper: Sleeper = { at: now + Math.max(0, ms - early), order: order++, resolve: wake, unref };
        sleepers.push(sleeper);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
    timeout(ms) {
      const controller = new AbortController();
      deadlines.push({ at: now + ms, controller });
      return controller.signal;
    },
    async advance(ms) {
      const end = now + ms;
      await settle();
      for (;;) {
        const next = due();
        const deadline = deadlines.filter((d) => d.at <= end).sort((a, b) => a.at - b.at)[0];
        const nextAt = Math.min(
          next && next.at <= end ? next.at : Number.POSITIVE_INFINITY,
          deadline?.at ?? Number.POSITIVE_INFINITY,
        );
        if (nextAt === Number.POSITIVE_INFINITY) break;
        now = Math.max(now, nextAt);
        if (deadline && deadline.at === nextAt) {
          deadlines.splice(deadlines.indexOf(deadline), 1);
          deadline.controller.abort(new DOMException("The operation timed out.", "TimeoutError"));
        } else if (next) {
          sleepers.splice(sleepers.indexOf(next), 1);
          next.resolve();
        }
        await settle();
      }
      now = end;
      await settle();
    },
    async runAll(limitMs = 24 * 3_600_000) {
      const end = now + limitMs;
      while (sleepers.length > 0 && now < end) {
        const next = due();
        if (!next) break;
        await clock.advance(Math.max(0, Math.min(next.at, end) - now));
      }
    },
  };
  return clock;
}

/** Waits (in real time, polling) until `condition` holds: for what another process or socket does. */
export async function waitFor(condition: () => boolean, what = "the condition"): Promise<void> {
  for (let poll = 0; poll < 6_000; poll++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`waited 60 s for ${what}`);
}

/** Waits (in real time) until `sleepers` wait on `clock`: what a client does once a real socket has answered. */
export function asleep(clock: ManualClock, sleepers = 1): Promise<void> {
  return waitFor(() => clock.pending() >= sleepers, `${sleepers} sleeper(s) on the clock`);
}

/**
 * Proves that the wait now asleep on `clock` is exactly `ms`: at `ms - 1` nothing more has been
 * sent, and at `ms` the next request arrives.
 */
export async function expectSentAgainAt(clock: ManualClock, ms: number, requests: () => number): Promise<void> {
  const sent = requests();
  await clock.advance(ms - 1);
  if (requests() !== sent) throw new Error(`sent again before ${ms} ms had passed`);
  await clock.advance(1);
  await waitFor(() => requests() > sent, `the request sent again at ${ms} ms`);
}
