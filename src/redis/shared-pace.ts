// The Pace of gate.ts kept in Redis: the scripts keep the books atomically, and what a hold or a
// quiet stretch teaches is decided here by the same functions the in-memory limiter uses.
import type { Redis } from "ioredis";
import { FORGET_PACE_MS, paceAfterHold, raisedRate } from "../gate.ts";
import { ACCEPT, HOLD, LEARN, RAISE, RESERVE } from "./scripts.ts";

/** A budget nobody has used for this long is forgotten (its key expires). */
const IDLE_MS = 3_600_000;

type Script = (key: string, ...args: (string | number)[]) => Promise<unknown>;
interface PaceCommands {
  planetscaleRolesReserve: Script;
  planetscaleRolesHold: Script;
  planetscaleRolesLearn: Script;
  planetscaleRolesAccept: Script;
  planetscaleRolesRaise: Script;
}

export interface Turn {
  /** How long to wait for the slot reserved (0: go now). */
  waitMs: number;
  /** The pace's epoch when it was reserved: a wait must be reserved again if it has moved. */
  epoch: number;
}

export class SharedPace {
  readonly #commands: PaceCommands;

  constructor(
    client: Redis,
    readonly key: string,
  ) {
    // defineCommand runs each script by EVALSHA and falls back to EVAL when Redis does not know it
    // (a restarted server has forgotten every script).
    const scripts = { Reserve: RESERVE, Hold: HOLD, Learn: LEARN, Accept: ACCEPT, Raise: RAISE };
    for (const [name, lua] of Object.entries(scripts)) {
      client.defineCommand(`planetscaleRoles${name}`, { numberOfKeys: 1, lua });
    }
    this.#commands = client as unknown as PaceCommands;
  }

  /** Reserves the next slot; a call that waited passes the epoch it saw, and goes at once if nothing moved. */
  async reserve(epochSeen?: number): Promise<Turn> {
    const commands = this.#commands;
    const [waitMs, epoch] = (await commands.planetscaleRolesReserve(
      this.key,
      epochSeen ?? "",
      IDLE_MS,
      FORGET_PACE_MS,
    )) as [number, number];
    return { waitMs, epoch };
  }

  async limited(retryAfterMs: number): Promise<void> {
    const reply = (await this.#commands.planetscaleRolesHold(this.key, retryAfterMs, IDLE_MS + retryAfterMs)) as
      | [0]
      | [number, string, string, string];
    if (reply[0] === 0) return;
    const [epoch, accepted, windowMs, rate] = reply;
    const learned = paceAfterHold(Number(rate), Number(accepted), Number(windowMs), retryAfterMs);
    if (!learned) return;
    await this.#commands.planetscaleRolesLearn(this.key, epoch, String(learned.rate), String(learned.burst));
  }

  async accepted(): Promise<void> {
    const reply = (await this.#commands.planetscaleRolesAccept(this.key, IDLE_MS)) as [string, string, string, string];
    const [now, rate, pausedUntil, lastRaise] = reply;
    const raised = raisedRate(Number(rate), Number(now), Number(pausedUntil), Number(lastRaise));
    if (raised !== undefined) await this.#commands.planetscaleRolesRaise(this.key, rate, String(raised), now);
  }
}
