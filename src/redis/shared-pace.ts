// The Pace of gate.ts kept in Redis, whole: every process of the fleet applies what it saw (its
// reservations, its answers and their rate-limit headers, its 429s) to the one pace Redis keeps,
// with the same Pace code the in-memory limiter runs, at Redis's clock. A process sends what
// happened in batches: while one batch is in Redis, the next gathers, so that a hundred calls
// starting at once cost one read and one write. Every reply is checked against what the script
// returns: a server that answers anything else (a proxy, another program on the port, a broken
// Redis) is treated as Redis failing, never obeyed.
import type { Cluster, Redis } from "ioredis";
import { type HoldTooLong, Pace, type RateLimitReading, refusedHold } from "../gate.ts";
import { answerWithin } from "./answer.ts";
import { COMMIT } from "./scripts.ts";

type WithPaceScript = (Redis | Cluster) & { planetscaleRolesPace(...args: (string | number)[]): Promise<unknown> };

/** A budget nobody has used for this long (past its hold) is forgotten (its key expires). */
const IDLE_MS = 3_600_000;

/** ioredis's states while a connection is being made, before commands go out. */
const CONNECTING = new Set(["wait", "connecting", "connect"]);

/**
 * Writes one batch tries before the pace counts as moving too fast to follow: others wrote first
 * each time. Four processes on a loaded machine (bench:fleet) once lost 20 in a row.
 */
const MAX_WRITES = 50;

/** Redis answered something its script never returns. */
export class UnusableReplyError extends Error {
  override name = "UnusableReplyError";
}

export interface Turn {
  /** How long to wait for the slot reserved (0: go now). */
  waitMs: number;
  /** The pace's count of holds when it was reserved: a wait must be reserved again if it has moved. */
  epoch: number;
  /** Nothing was reserved: every call is held longer than the call waits out a hold. */
  refused?: HoldTooLong;
}

/** What the script answered: the pace as Redis keeps it, at Redis's now. */
export interface Kept {
  written: boolean;
  now: number;
  version: number;
  /** The pace kept (none when the reply is to a write, which keeps what was sent). */
  pace: Pace | undefined;
  /** Its JSON, to tell whether a batch changed it. */
  text: string;
}

function unusable(reply: unknown, why: string): never {
  const text = JSON.stringify(reply) ?? String(reply);
  throw new UnusableReplyError(`${text.length > 60 ? `${text.slice(0, 57)}...` : text}: ${why}`);
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
// Lua's tostring of a number: digits, maybe a fraction and an exponent.
const NUMERAL = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/;

// JSON has no ∞, which a ceiling no hold has bounded yet is.
const INFINITE = "Infinity";
export const encodePace = (pace: Pace): string =>
  JSON.stringify(pace.snapshot(), (_key, value: unknown) => (value === Number.POSITIVE_INFINITY ? INFINITE : value));

function decodePace(text: string): Pace | undefined {
  if (text === "") return new Pace();
  try {
    return Pace.restore(JSON.parse(text, (_key, value: unknown) => (value === INFINITE ? Infinity : value)));
  } catch {
    return undefined;
  }
}

/** COMMIT's reply: [written 0 or 1, now, version, pace]. */
export function readKept(reply: unknown): Kept {
  const [written, now, version, text] = Array.isArray(reply) ? (reply as unknown[]) : [];
  const shaped = Array.isArray(reply) && reply.length === 4 && (written === 0 || written === 1);
  if (!shaped || typeof now !== "string" || !NUMERAL.test(now) || !isCount(version) || typeof text !== "string") {
    unusable(reply, "not the [written, now, version, pace] of the pace's script");
  }
  const pace = written === 1 ? undefined : decodePace(text);
  if (written === 0 && !pace) unusable(reply, "a pace that is not one");
  return { written: written === 1, now: Number(now), version, pace, text };
}

/** What happened, as a change to the pace at Redis's now; run again on the pace another process wrote first. */
type Step<T> = (pace: Pace, now: number) => T;
interface Queued {
  step: Step<unknown>;
  /** An answer's step (accepted), which a 429 this process meets later carries ahead of it. */
  answer: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class SharedPace {
  readonly #client: Redis | Cluster;
  #queue: Queued[] = [];
  #sending = false;
  /** The 429s this process has sent to Redis that have not landed yet. */
  readonly #landing = new Set<Promise<void>>();

  constructor(
    client: Redis | Cluster,
    /** The budget's key; a limiter that a client binds names it after the client's credentials. */
    public key: string,
    private readonly commandTimeoutMs: number,
  ) {
    // defineCommand runs the script by EVALSHA and falls back to EVAL when Redis does not know it
    // (a restarted server has forgotten every script).
    client.defineCommand("planetscaleRolesPace", { numberOfKeys: 1, lua: COMMIT });
    this.#client = client;
  }

  /**
   * Reserves the next slot; a call that waited passes the holds it saw, and goes at once if no hold
   * began since. A wait longer than `longestWaitMs` is refused (`limit` says what that is): no call
   * could use it, so the pace Redis keeps is not one this code wrote.
   */
  async reserve(
    epochSeen: number | undefined,
    longestWaitMs: number,
    limit: string,
    longestHoldMs?: number,
  ): Promise<Turn> {
    const turn = await this.#apply((pace, now): Turn => {
      if (epochSeen !== undefined && pace.holds === epochSeen) return { waitMs: 0, epoch: epochSeen };
      // A hold past what any call could use is no refusal: the pace is not one this code wrote.
      const refused = refusedHold(pace, now, longestHoldMs);
      if (refused && refused.heldMs <= longestWaitMs) return { waitMs: 0, epoch: pace.holds, refused };
      return { waitMs: pace.reserve(now), epoch: pace.holds };
    });
    if (!(turn.waitMs <= longestWaitMs))
      unusable(turn.waitMs, `a wait of ${Math.ceil(turn.waitMs)} ms, longer than ${limit}`);
    return turn;
  }

  /**
   * A 429 goes to Redis at once, beside any batch this process has there: every call the fleet
   * sends before the hold lands meets a 429 too. (The write is a compare-and-set like any other,
   * so the batch it passes is applied again on top of it.) The answers this process has queued
   * go in the same write, ahead of it: they came before the 429, and the interval it ends counts
   * them (left behind, they would land in the hold, and the pace would learn the refill from a
   * count short by as many). Reservations stay queued, behind the hold.
   */
  async limited(retryAfterMs: number, reading: RateLimitReading | undefined): Promise<void> {
    const ahead = this.#queue.filter(({ answer }) => answer);
    this.#queue = this.#queue.filter(({ answer }) => !answer);
    const steps = [
      ...ahead.map(({ step }) => step),
      (pace: Pace, now: number) => pace.limited(now, retryAfterMs, reading),
    ];
    const landing = this.#commit(steps).then(
      (results) => {
        for (const [i, queued] of ahead.entries()) queued.resolve(results[i]);
      },
      (error: unknown) => {
        for (const queued of ahead) queued.reject(error);
        throw error;
      },
    );
    // The batches this process sends next wait for it: its calls after the 429 are held too.
    const landed = landing.then(
      () => {},
      () => {},
    );
    this.#landing.add(landed);
    void landed.then(() => this.#landing.delete(landed));
    await landing;
  }

  /** Settles once every 429 told so far has been written (or failed to be). */
  async landed(): Promise<void> {
    await Promise.all(this.#landing);
  }

  accepted(reading: RateLimitReading | undefined): Promise<void> {
    return this.#apply((pace, now) => pace.accepted(now, reading), true);
  }

  #apply<T>(step: Step<T>, answer = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ step, answer, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#sending) void this.#send();
    });
  }

  async #send(): Promise<void> {
    this.#sending = true;
    while (this.#queue.length > 0) {
      if (this.#landing.size > 0) await Promise.all(this.#landing);
      const batch = this.#queue.splice(0);
      try {
        const results = await this.#commit(batch.map(({ step }) => step));
        for (const [i, queued] of batch.entries()) queued.resolve(results[i]);
      } catch (error) {
        // The calls queued behind a batch Redis failed would each wait for a command of their own
        // to the same Redis (another window, or five while it connects): they fail with it, and
        // go to the local pace at once, as the calls that come after the failure do.
        for (const queued of [...batch, ...this.#queue.splice(0)]) queued.reject(error);
      }
    }
    this.#sending = false;
  }

  /** Applies the steps to the pace Redis keeps and writes it back, again on what another wrote first. */
  async #commit(steps: Step<unknown>[]): Promise<unknown[]> {
    let kept = readKept(await this.#run("", ""));
    for (let write = 1; ; write++) {
      const pace = kept.pace as Pace;
      const results = steps.map((step) => step(pace, kept.now));
      const text = encodePace(pace);
      if (text === kept.text) return results;
      const idleMs = IDLE_MS + Math.ceil(Math.max(0, pace.pausedUntil - kept.now));
      const reply = readKept(await this.#run(kept.version, text, idleMs, pace.pausedUntil, pace.holds));
      if (reply.written) return results;
      if (write === MAX_WRITES) unusable(reply.version, `the pace was written by others ${MAX_WRITES} times in a row`);
      kept = reply;
    }
  }

  #run(...args: (string | number)[]): Promise<unknown> {
    // defineCommand (in the constructor) gave the client this method; ioredis's types cannot know it.
    const client = this.#client as WithPaceScript;
    const connecting = () => CONNECTING.has(client.status);
    return answerWithin(client.planetscaleRolesPace(this.key, ...args), this.commandTimeoutMs, connecting);
  }
}
