// The Pace of gate.ts kept in Redis: the scripts keep the books atomically, and what a hold or a
// quiet stretch teaches is decided here by the same functions the in-memory limiter uses. Every
// reply is checked against what its script returns: a server that answers anything else (a proxy,
// another program on the port, a broken Redis) is treated as Redis failing, never obeyed.
import type { Cluster, Redis } from "ioredis";
import { FORGET_PACE_MS, paceAfterHold, raisedRate } from "../gate.ts";
import { answerWithin } from "./answer.ts";
import { ACCEPT, HOLD, LEARN, RAISE, RESERVE } from "./scripts.ts";

/** A budget nobody has used for this long is forgotten (its key expires). */
const IDLE_MS = 3_600_000;

/** ioredis's states while a connection is being made, before commands go out. */
const CONNECTING = new Set(["wait", "connecting", "connect"]);

/** Redis answered something its script never returns. */
export class UnusableReplyError extends Error {
  override name = "UnusableReplyError";
}

type Script = (key: string, ...args: (string | number)[]) => Promise<unknown>;
type ScriptName = "Reserve" | "Hold" | "Learn" | "Accept" | "Raise";

export interface Turn {
  /** How long to wait for the slot reserved (0: go now). */
  waitMs: number;
  /** The pace's epoch when it was reserved: a wait must be reserved again if it has moved. */
  epoch: number;
}

function unusable(reply: unknown, why: string): never {
  const text = JSON.stringify(reply) ?? String(reply);
  throw new UnusableReplyError(`${text.length > 60 ? `${text.slice(0, 57)}...` : text}: ${why}`);
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;
// Lua's tostring of a number: digits, maybe a fraction and an exponent.
const NUMERAL = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/;
const isNumeral = (value: unknown, min = 0): value is string =>
  typeof value === "string" && NUMERAL.test(value) && Number(value) >= min;

/**
 * RESERVE's reply as a turn: two counts, a wait no longer than `longestWaitMs` (`limit` says what
 * that is), and no wait at all for a call whose epoch has not moved.
 */
export function readTurn(reply: unknown, epochSeen: number | undefined, longestWaitMs: number, limit: string): Turn {
  if (!Array.isArray(reply) || reply.length !== 2 || !isCount(reply[0]) || !isCount(reply[1])) {
    unusable(reply, "not the [wait, epoch] of a reservation");
  }
  const [waitMs, epoch] = reply as [number, number];
  if (epoch === epochSeen && waitMs !== 0) unusable(reply, "a new wait for a call whose pace has not moved");
  if (waitMs > longestWaitMs) unusable(reply, `a wait of ${waitMs} ms, longer than ${limit}`);
  return { waitMs, epoch };
}

/** HOLD's reply: [0] during a hold, or what the pace is learned from. */
export function readHold(
  reply: unknown,
): { epoch: number; accepted: number; windowMs: number; rate: number } | undefined {
  if (Array.isArray(reply) && reply.length === 1 && reply[0] === 0) return undefined;
  if (!Array.isArray(reply) || reply.length !== 4) unusable(reply, "not the reply of a hold");
  const [epoch, accepted, windowMs, rate] = reply as unknown[];
  const counted = isNumeral(accepted) && Number.isSafeInteger(Number(accepted));
  if (!isCount(epoch) || epoch < 1 || !counted || !isNumeral(windowMs, -Infinity) || !isNumeral(rate)) {
    unusable(reply, "not the [epoch, accepted, window, rate] of a new hold");
  }
  return { epoch, accepted: Number(accepted), windowMs: Number(windowMs), rate: Number(rate) };
}

/** ACCEPT's reply: [now, rate, pausedUntil, lastRaise], each a number as a string. */
export function readAccepted(reply: unknown): [string, string, string, string] {
  if (!Array.isArray(reply) || reply.length !== 4 || !reply.every((field) => isNumeral(field))) {
    unusable(reply, "not the [now, rate, pausedUntil, lastRaise] of an accepted answer");
  }
  return reply as [string, string, string, string];
}

/** LEARN's and RAISE's reply: 1 when written, 0 when the pace moved first. */
function readWritten(reply: unknown): void {
  if (reply !== 0 && reply !== 1) unusable(reply, "neither 0 nor 1");
}

export class SharedPace {
  readonly #client: Redis | Cluster;

  constructor(
    client: Redis | Cluster,
    /** The budget's key; a limiter that a client binds names it after the client's credentials. */
    public key: string,
    private readonly commandTimeoutMs: number,
  ) {
    // defineCommand runs each script by EVALSHA and falls back to EVAL when Redis does not know it
    // (a restarted server has forgotten every script).
    const scripts = { Reserve: RESERVE, Hold: HOLD, Learn: LEARN, Accept: ACCEPT, Raise: RAISE };
    for (const [name, lua] of Object.entries(scripts)) {
      client.defineCommand(`planetscaleRoles${name}`, { numberOfKeys: 1, lua });
    }
    this.#client = client;
  }

  #run(name: ScriptName, ...args: (string | number)[]): Promise<unknown> {
    const script = (this.#client as unknown as Record<string, Script>)[`planetscaleRoles${name}`] as Script;
    const connecting = () => CONNECTING.has(this.#client.status);
    return answerWithin(script.call(this.#client, this.key, ...args), this.commandTimeoutMs, connecting);
  }

  /**
   * Reserves the next slot; a call that waited passes the epoch it saw, and goes at once if nothing
   * moved. A wait longer than `longestWaitMs` is refused: no call could use it.
   */
  async reserve(epochSeen: number | undefined, longestWaitMs: number, limit: string): Promise<Turn> {
    const reply = await this.#run("Reserve", epochSeen ?? "", IDLE_MS, FORGET_PACE_MS);
    return readTurn(reply, epochSeen, longestWaitMs, limit);
  }

  async limited(retryAfterMs: number): Promise<void> {
    const hold = readHold(await this.#run("Hold", retryAfterMs, IDLE_MS + retryAfterMs));
    if (!hold) return;
    const learned = paceAfterHold(hold.rate, hold.accepted, hold.windowMs, retryAfterMs);
    if (!learned) return;
    readWritten(await this.#run("Learn", hold.epoch, String(learned.rate), String(learned.burst)));
  }

  async accepted(): Promise<void> {
    const [now, rate, pausedUntil, lastRaise] = readAccepted(await this.#run("Accept", IDLE_MS));
    const raised = raisedRate(Number(rate), Number(now), Number(pausedUntil), Number(lastRaise));
    if (raised !== undefined) readWritten(await this.#run("Raise", rate, String(raised), now));
  }
}
