// How long Redis had to answer. A timer that fires late says the process itself was busy (a
// synchronous computation, a loaded machine), not that Redis was silent: an answer that came in the
// meantime is still unread in the socket, and the timer runs before the loop reads it. So a timer
// first lets the loop read what has arrived, and a late one gives Redis a fresh window; so does a
// connection still being made, whose handshake takes several round trips before any command goes.

/** Redis did not answer within the command timeout on a loop that was free to hear it. */
export class NoAnswerError extends Error {
  override name = "NoAnswerError";
}

/** Windows a command gets at most, however busy the process: Redis that is gone still fails in bounded time. */
const MAX_WINDOWS = 5;

/**
 * Settles as `reply` does, or rejects with a NoAnswerError once `ms` have passed with no answer on
 * a connection that was made (`connecting` says when it is not yet) while the event loop was
 * responsive (its timer fired less than half a window late).
 */
export function answerWithin<T>(reply: Promise<T>, ms: number, connecting: () => boolean = () => false): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    let windows = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      windows++;
      const due = performance.now() + ms;
      timer = setTimeout(() => {
        const lateMs = performance.now() - due;
        // Let the loop read the socket before deciding: the answer may be waiting there.
        setImmediate(() => {
          if (settled) return;
          if ((connecting() || lateMs > ms / 2) && windows < MAX_WINDOWS) return arm();
          settled = true;
          reject(new NoAnswerError(`no answer within ${ms} ms`));
        });
      }, ms);
      timer.unref?.();
    };
    const settle = () => {
      settled = true;
      clearTimeout(timer);
    };
    reply.then(
      (value) => {
        if (settled) return;
        settle();
        resolve(value);
      },
      (error: unknown) => {
        if (settled) return;
        settle();
        reject(error);
      },
    );
    arm();
  });
}
