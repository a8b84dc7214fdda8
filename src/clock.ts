// Time as an input. Everything in the package that waits or reads the time takes it from a Clock,
// so that tests steer time and assert exact waits instead of bounding wall time.

/** The longest wait a timer can hold: setTimeout fires at once for anything longer. */
export const TIMER_LIMIT_MS = 2 ** 31 - 1;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /**
   * Resolves after `ms` (at most the timer limit), or rejects with the signal's reason as soon as
   * it aborts. `unref`: the wait does not keep the process alive (a lease's renewal timer).
   */
  sleep(ms: number, signal?: AbortSignal, options?: { unref?: boolean }): Promise<void>;
  /** A signal that aborts with a "TimeoutError" DOMException after `ms`, keeping no process alive. */
  timeout(ms: number): AbortSignal;
}

function unref(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === "object" && typeof timer.unref === "function") timer.unref();
  else (globalThis as { Deno?: { unrefTimer?(id: unknown): void } }).Deno?.unrefTimer?.(timer);
}

/**
 * Resolves after `ms` (at most the timer limit: a longer wait is never cut to nothing), or rejects
 * with the signal's reason as soon as it aborts; leaves no timer behind. The listener goes on a
 * signal of its own that follows the caller's, so that calls sharing one signal add nothing to it.
 */
export function sleep(ms: number, signal?: AbortSignal, options?: { unref?: boolean }): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const follower = signal ? AbortSignal.any([signal]) : undefined;
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(
      () => {
        follower?.removeEventListener("abort", onAbort);
        resolve();
      },
      Math.min(ms, TIMER_LIMIT_MS),
    );
    if (options?.unref) unref(timer);
    follower?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep,
  timeout: (ms) => AbortSignal.timeout(Math.min(ms, TIMER_LIMIT_MS)),
};

/**
 * One attempt's deadline. `signal` goes with the request: it aborts when the time is up (a
 * "TimeoutError" DOMException) or the caller's signal aborts; `expired` rejects with its reason at
 * that moment, for what must end then even if the fetch does not (a fetch deaf to its signal, a body
 * read); `clear()` once the attempt is over.
 */
export interface Deadline {
  signal: AbortSignal;
  /** The time limit's own signal, to tell a timeout from the caller's abort. */
  timeout: AbortSignal;
  expired: Promise<never>;
  clear(): void;
}

// The reason the request's fetch is aborted with; the caller is told by the pipeline's TimeoutError.
const TIMEOUT_MESSAGE = "timeoutMs passed";

/**
 * The real clock's deadline is a controller and a timer that rejects `expired` itself: no listener
 * on the signal, and nothing left alive once the attempt clears it. AbortSignal.timeout costs a
 * third of a call's own work in Node (its signal is transferable and tracked until collected).
 */
export function attemptDeadline(clock: Clock, ms: number, caller: AbortSignal | undefined): Deadline {
  let fire: (reason: unknown) => void = () => {};
  const expired = new Promise<never>((_, reject) => {
    fire = reject;
  });
  expired.catch(() => {});
  let timeout: AbortSignal;
  let clearTimer = () => {};
  if (clock === systemClock) {
    const controller = new AbortController();
    // Not unref'd: a call in flight keeps the process alive until it ends, as its caller awaits it.
    const timer = setTimeout(
      () => {
        const reason = new DOMException(TIMEOUT_MESSAGE, "TimeoutError");
        controller.abort(reason);
        fire(reason);
      },
      Math.min(ms, TIMER_LIMIT_MS),
    );
    timeout = controller.signal;
    clearTimer = () => clearTimeout(timer);
    if (!caller) return { signal: timeout, timeout, expired, clear: clearTimer };
  } else {
    timeout = clock.timeout(ms);
  }
  const signal = caller ? AbortSignal.any([caller, timeout]) : timeout;
  const onAbort = () => fire(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  const clear = () => {
    // Node keeps a joined signal that has a listener alive as long as its sources: one the caller
    // shares across calls would hold every call's deadline until it aborts (6 kB a call).
    signal.removeEventListener("abort", onAbort);
    clearTimer();
  };
  return { signal, timeout, expired, clear };
}
