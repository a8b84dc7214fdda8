// The lease's own loop: sleep until something is due (timing.ts says when), do it, and again. Each
// pass runs alone in the holder's queue, and every failure goes to onError: the lease keeps trying.
import { type CallOptions, IN_BACKGROUND, type LeaseHolder } from "./holder.ts";
import { dueWork, type Work, wakeAt } from "./timing.ts";

/** The shortest wait between two passes of the loop, once a pass left work due that it had tried. */
const MIN_PAUSE_MS = 1_000;
/**
 * A wake this close to its point counts as on time: Node's setTimeout can end a wait about a
 * millisecond early measured against Date.now(), and a pass that found nothing due would wait again.
 */
const WAKE_SLACK_MS = 5;

/**
 * A replacement the lease makes on its own: a failure waits for its backoff, never past the current
 * role's expiry. onChange's outcome goes to onError when it comes; the loop does not wait for it.
 */
async function replaceInTurn(holder: LeaseHolder, call: CallOptions): Promise<void> {
  try {
    const { handed } = await holder.replace(call);
    handed.catch((error: unknown) => holder.report(error));
    // A new role as short as its margin is renewed on the backoff, not replaced again (holder.ts).
    holder.replaceFailures = 0;
    holder.replaceRetryAt = 0;
  } catch (error) {
    holder.deferReplace(error);
    throw error;
  }
}

function perform(holder: LeaseHolder, work: Work, call: CallOptions): Promise<void> {
  const { current, previous, settings } = holder;
  if (work === "delete-previous") return holder.deletePrevious(call);
  if (work === "replace") return replaceInTurn(holder, call);
  // A short role's retries keep to the backoff: its replace point is never.
  const deadline = current.short ? Number.POSITIVE_INFINITY : (current.expiresAt ?? 0) - settings.marginMs;
  if (work === "renew") return holder.renew(current, deadline, call);
  // renew-previous: only while it is in its grace.
  return previous ? holder.renew(previous, previous.deleteAt, call) : Promise.resolve();
}

/** Does what is due within `slackMs` of now, each kind of work at most once; failures go to onError. Says whether it did anything. */
export async function runDue(holder: LeaseHolder, slackMs = 0, call: CallOptions = {}): Promise<boolean> {
  const tried = new Set<Work>();
  for (;;) {
    const work = dueWork(holder.times(), holder.deps.clock.now() + slackMs).find((due) => !tried.has(due));
    if (work === undefined || holder.closed) return tried.size > 0;
    tried.add(work);
    try {
      await perform(holder, work, call);
    } catch (error) {
      holder.report(error);
    }
  }
}

/** Settles only when `signal` aborts; holds no timer. */
function abortion(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
}

/**
 * Sleeps until something is due, does it, and again, until closed. Its waits never keep a process
 * alive. After a pass that did something, whatever is still due was tried in it and failed: the
 * next pass waits at least a second, so that no rule of the timing can make the lease call the
 * API without pause. Work due later than that is waited for exactly, not put off to the second.
 */
export async function runLoop(holder: LeaseHolder): Promise<void> {
  const { clock } = holder.deps;
  let ran = false;
  while (!holder.closed) {
    const pause = holder.nextPause();
    const wait = wakeAt(holder.times(), clock.now()) - clock.now();
    const floor = ran && wait <= WAKE_SLACK_MS ? MIN_PAUSE_MS : 0;
    try {
      if (wait === Number.POSITIVE_INFINITY) await abortion(pause);
      else await clock.sleep(Math.max(floor, wait), pause, { unref: true });
    } catch {
      ran = false;
      continue;
    }
    ran = await holder.exclusive(() => runDue(holder, WAKE_SLACK_MS, IN_BACKGROUND));
  }
}
