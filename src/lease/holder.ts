// The lease's state and the work it does against the API: one current role, at most one previous
// role in its grace, and the names of creates whose answer was lost. Every step runs alone (one
// queue), so that renewals, rotations, fresh() and close() never interleave; loop.ts decides when.

import type { PlanetScaleClient } from "../client.ts";
import type { Clock } from "../clock.ts";
import {
  describeRole,
  extendMessage,
  maskedCause,
  NotFoundError,
  PlanetScaleError,
  passwordForms,
  RateLimitError,
  UnexpectedResponseError,
} from "../errors.ts";
import { quietly } from "../request.ts";
import { attemptName } from "../roles.ts";
import { printable, redactInspect, redactText } from "../secrets.ts";
import type { CreateRoleParams, Role } from "../types.ts";
import type { LeaseSettings } from "./options.ts";
import { type HeldTimes, type LeaseTimes, renewPoint, replaceRetryPoint, retryPoint } from "./timing.ts";

export interface LeaseDeps {
  client: Pick<PlanetScaleClient, "createRole" | "renewRole" | "deleteRole" | "listAllRoles">;
  clock: Clock;
  /** The jitter's source, in [0, 1). Default Math.random. */
  random?: () => number;
}

interface Held extends HeldTimes {
  /** As handed out: the password from the create answer, everything else from the latest answer. */
  role: Role;
  /** Renewals failed in a row. */
  failures: number;
  /** Renewal found it deleted (404): its expiresAt is when. */
  gone?: true;
}

/** Why a role whose answer gave it no more than the safety margin may be so short, in onError's words. */
export const SHORT_CAUSE = "the server granted less than asked, or this machine's clock is ahead of the API's";
interface Current extends Held {
  rotateAt: number | undefined;
}
/** It keeps its rotation time: onChange may refuse its successor and make it current again. */
interface Previous extends Current {
  deleteAt: number;
  deleteFailures: number;
}

/**
 * What the lease's own calls add: none for a call someone awaits (fresh, rotate, close); for the
 * loop's, `maxRetries: 0`, so that a retry waits on the lease's backoff, whose timer is unref'd,
 * not on the client's (a 429's Retry-After, the gate's hold), which would keep a process alive.
 */
export type CallOptions = { maxRetries?: number };
export const IN_BACKGROUND: CallOptions = { maxRetries: 0 };

/** A create that failed this way may still have made a role (whose password nobody has). */
function mayHaveCreated(error: unknown): boolean {
  if (!(error instanceof PlanetScaleError)) return false;
  const unusable = error instanceof UnexpectedResponseError && (error.status ?? 0) >= 200 && (error.status ?? 0) < 300;
  return unusable || error.outcomeUnknown;
}

/**
 * How far past now + ttl an answer's expires_at may be and still be believed: the API's clock and
 * ours are a little apart, but a renewal cannot give more than the ttl.
 */
const EXPIRY_SLACK_MS = 5_000;

/** How long the lease waits for onChange (a pool draining its clients, say) before it goes on without its answer. */
// Ten minutes, as one literal for the reason RETRY_LONGEST_MS is (lease/timing.ts).
export const ONCHANGE_WAIT_MS = 600_000;

/** What came of a hand-over: onChange resolved, threw, had not settled in time, or the lease closed meanwhile. */
type ChangeAnswer = "taken" | "late" | "closed" | { threw: unknown };

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as { then?: unknown } | null)?.then === "function";

export const retryAfterOf = (error: unknown) => (error instanceof RateLimitError ? error.retryAfterMs : undefined);

export class LeaseHolder {
  current!: Current;
  previous: Previous | undefined;
  /** Names of creates whose answer was lost: looked for and deleted before the next create. */
  readonly unverified: string[] = [];
  /** Roles those creates were found to have made, until their delete succeeds, by name. */
  readonly lostFound = new Map<string, Role>();
  /** The name whose look (or delete) failed last. */
  lostFailedAt: string | undefined;
  /** Roles made after close began: nobody was handed them, so close deletes them even with keepRoles. */
  readonly strays: Role[] = [];
  closed = false;
  /** A check that a refused login asked for, which the logins refused meanwhile share. */
  checking: Promise<void> | undefined;
  /** onChange calls not yet settled: a replacement under the safety margin may start one while another runs. */
  #handOvers = 0;
  replaceRetryAt = 0;
  /** Steps of the replacement backoff spent since a replacement last succeeded. */
  replaceFailures = 0;
  readonly stop = new AbortController();
  readonly where: { organization: string; database: string; branch: string };
  /** The jitter's source. */
  readonly random: () => number;
  #queue: Promise<unknown> = Promise.resolve();
  #pause: AbortController | undefined;

  constructor(
    readonly deps: LeaseDeps,
    readonly settings: LeaseSettings & { name: string },
    readonly params: CreateRoleParams,
  ) {
    this.random = deps.random ?? Math.random;
    this.where = { organization: params.organization, database: params.database, branch: params.branch };
  }

  /** True while an onChange has not settled (nor been given up on). */
  get handingOver(): boolean {
    return this.#handOvers > 0;
  }

  times(): LeaseTimes {
    return {
      current: this.current,
      previous: this.previous,
      replaceRetryAt: this.replaceRetryAt,
      marginMs: this.settings.marginMs,
    };
  }

  /** How long the current role stays valid from now (Infinity: it does not expire). */
  validFor(): number {
    const { expiresAt } = this.current;
    return expiresAt === undefined ? Number.POSITIVE_INFINITY : expiresAt - this.deps.clock.now();
  }

  /** Runs `task` once every step queued before it is done. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task);
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Ends the loop's current wait so that it looks again at what is due. */
  wake(): void {
    this.#pause?.abort();
  }

  /** A signal for the loop's next wait, which wake() aborts. */
  nextPause(): AbortSignal {
    this.#pause = new AbortController();
    return this.#pause.signal;
  }

  report(error: unknown): void {
    if (this.closed) return;
    const told =
      error instanceof PlanetScaleError
        ? error
        : new PlanetScaleError(this.mask(String(error)), { cause: maskedCause(error, this.secrets()) });
    quietly(this.settings.onError, told);
  }

  describe(role: { id: string; name?: string }): string {
    return describeRole(this.where, role);
  }

  /**
   * The expiry to time a role by. For a role with a ttl, an answer with no expiry, one that cannot
   * be read, or one later than now + ttl (past a slack for clocks apart) is not believed: the role
   * is timed, and shown, as expiring the ttl from now (what the API promises), and onError is told.
   */
  #timed(role: Role, now: number, operation: string): { role: Role; expiresAt: number | undefined } {
    const { ttlMs } = this.settings;
    const at = role.expires_at === null || role.expires_at === undefined ? Number.NaN : Date.parse(role.expires_at);
    if (ttlMs === undefined) return { role, expiresAt: Number.isNaN(at) ? undefined : at };
    if (!Number.isNaN(at) && at <= now + ttlMs + EXPIRY_SLACK_MS) return { role, expiresAt: at };
    const expiresAt = now + ttlMs;
    const counted = new Date(expiresAt).toISOString();
    const answered = JSON.stringify(role.expires_at ?? null);
    this.report(
      new PlanetScaleError(
        `lease: ${operation} answered expires_at ${answered} for ${this.describe(role)}, whose ttl is ` +
          `${ttlMs / 1000} s: the lease counts on ${counted} instead`,
        { operation },
      ),
    );
    return { role: redactInspect({ ...role, expires_at: counted }), expiresAt };
  }

  /**
   * A renew point already past means the answer did not give the role renewBeforeMs more (the API
   * keeps limits of its own): renewing again at once would loop, so the role is left to the
   * replace point, as Vault's LifetimeWatcher stops once renewing no longer extends the lease.
   */
  #renewAt(expiresAt: number | undefined, now: number): number | undefined {
    if (expiresAt === undefined) return undefined;
    const at = renewPoint(expiresAt, this.settings.renewBeforeMs, this.random);
    return at > now ? at : undefined;
  }

  /** Creates the next role. A lost answer leaves its name in `unverified`, for the next create to clear first. */
  async make(call: CallOptions & { signal?: AbortSignal } = {}): Promise<Current> {
    const name = attemptName(this.settings.name);
    let role: Role;
    try {
      role = await this.deps.client.createRole({ ...this.params, name }, call);
    } catch (error) {
      if (mayHaveCreated(error)) this.unverified.push(name);
      throw error;
    }
    const now = this.deps.clock.now();
    const timed = this.#timed(role, now, "create_role");
    const { rotateAfterMs } = this.settings;
    const rotateAt = rotateAfterMs === undefined ? undefined : now + rotateAfterMs;
    const { expiresAt } = timed;
    const made: Current = { role: timed.role, expiresAt, renewAt: undefined, failures: 0, rotateAt };
    this.#timeRenewal(made, now, "create_role");
    return made;
  }

  /**
   * When `held` is renewed next, from the answer just read. One that leaves no more than the safety
   * margin is `short`: a new role would be as short (a server granting less, or a clock ahead),
   * so it is renewed on the backoff instead of replaced, and onError is told why.
   */
  #timeRenewal(held: Held, now: number, operation: string): void {
    const { expiresAt } = held;
    const { ttlMs, marginMs } = this.settings;
    if (expiresAt === undefined || ttlMs === undefined || expiresAt - now > marginMs) {
      held.short = 0;
      held.renewAt = this.#renewAt(expiresAt, now);
      return;
    }
    held.short = (held.short ?? 0) + 1;
    held.renewAt = retryPoint(now, held.short, Number.POSITIVE_INFINITY, this.random);
    const left = expiresAt - now;
    this.report(
      new PlanetScaleError(
        `lease: ${operation} answered expires_at ${held.role.expires_at} for ${this.describe(held.role)}, ${left} ms ` +
          `from now, though its ttl is ${ttlMs / 1000} s: ${SHORT_CAUSE} (by about ${Math.round((ttlMs - left) / 1000)} s, ` +
          "if the server granted the whole ttl). The lease renews it on a backoff (10 s doubling to 5 minutes) " +
          "rather than make new roles, each of which would be as short",
        { operation },
      ),
    );
  }

  /** Renews `held` and re-bases on the expiry the answer carries; a failure moves the next try, never past `deadline`. */
  async renew(held: Held, deadline: number, call: CallOptions = {}): Promise<void> {
    const { clock, client } = this.deps;
    try {
      const answer = await client.renewRole({ ...this.where, id: held.role.id }, { ...call, signal: this.stop.signal });
      if (answer.id !== held.role.id) throw this.#otherRole(held.role, answer);
      // The renew answer carries no password: the create's stays.
      const now = clock.now();
      const timed = this.#timed(redactInspect({ ...answer, password: held.role.password }), now, "renew_role");
      held.role = timed.role;
      held.expiresAt = timed.expiresAt;
      held.failures = 0;
      this.#timeRenewal(held, now, "renew_role");
    } catch (error) {
      const now = clock.now();
      held.failures++;
      held.renewAt = retryPoint(now, held.failures, deadline, this.random, retryAfterOf(error));
      if (error instanceof NotFoundError) {
        // The role is gone (deleted by hand, or dropped on expiry): it works no longer, and is not renewed again.
        held.expiresAt = now;
        held.renewAt = undefined;
        held.gone = true;
        // Gone, it is replaced, short or not.
        held.short = 0;
      }
      throw error;
    }
  }

  /**
   * A renew answer about another role than the one renewed: adopting its id would lose the role the
   * lease made (close() would delete the other one, and count its 404 as done).
   */
  #otherRole(renewed: Role, answer: Role): UnexpectedResponseError {
    return new UnexpectedResponseError(
      `lease: renew_role answered id ${JSON.stringify(printable(String(answer.id)))} for ${this.describe(renewed)}: ` +
        "the lease keeps its role and counts the renewal as failed",
      { operation: "renew_role", status: 200, body: this.mask(JSON.stringify(answer)) },
    );
  }

  /** The password of every role the lease holds (and of `more`), as is and URL-encoded. */
  secrets(...more: Role[]): string[] {
    return passwordForms(this.current?.role, this.previous?.role, ...more);
  }

  /** `text` with secrets() masked. */
  mask(text: string, ...more: Role[]): string {
    return redactText(text, this.secrets(...more));
  }

  /** Deletes the previous role, handing whatever it owns to the current one. */
  async deletePrevious(call: CallOptions = {}): Promise<void> {
    const previous = this.previous;
    if (!previous) return;
    const params = { ...this.where, id: previous.role.id, successor: this.current.role.id };
    try {
      await this.deps.client.deleteRole(params, { ...call, signal: this.stop.signal });
    } catch (error) {
      if (!(error instanceof NotFoundError)) {
        previous.deleteFailures++;
        const now = this.deps.clock.now();
        const { deleteFailures } = previous;
        previous.deleteAt = retryPoint(now, deleteFailures, Number.POSITIVE_INFINITY, this.random, retryAfterOf(error));
        if (error instanceof PlanetScaleError) {
          extendMessage(error, `. The lease keeps trying to delete ${this.describe(previous.role)}, which it replaced`);
        }
        throw error;
      }
    }
    this.previous = undefined;
  }

  /** Looks for the role each lost create may have made, and deletes it; a name stays until that succeeds. */
  async clearUnverified(call: CallOptions = {}): Promise<void> {
    const { client } = this.deps;
    for (const name of [...this.unverified]) {
      try {
        for await (const role of client.listAllRoles({ ...this.where, q: name }, call)) {
          if (role.name !== name) continue;
          this.lostFound.set(name, role);
          await client.deleteRole({ ...this.where, id: role.id }, call).catch((error: unknown) => {
            if (!(error instanceof NotFoundError)) throw error;
          });
        }
      } catch (error) {
        this.lostFailedAt = name;
        throw error;
      }
      this.lostFound.delete(name);
      this.unverified.splice(this.unverified.indexOf(name), 1);
    }
  }

  /** A lost create's role in words: found (with its id) or only maybe made. */
  lostRole(name: string): string {
    const found = this.lostFound.get(name);
    return found
      ? `${this.describe(found)}, made by the create whose answer was lost,`
      : `role ${JSON.stringify(printable(name))}, which a create whose answer was lost may have made,`;
  }

  /**
   * Make before break: the previous role (if still there) and any lost create go first, so that
   * at most two roles are alive; the next role is made and handed to onChange. Resolves once it
   * is current, with `handed`, which settles once onChange has: the caller awaits that outside
   * the queue, so that renewals go on while onChange takes its time.
   */
  async replace(call: CallOptions = {}): Promise<{ role: Role; handed: Promise<void> }> {
    await this.deletePrevious(call);
    await this.clearUnverified(call).catch((error: unknown) => {
      if (error instanceof Error && this.lostFailedAt !== undefined) {
        const what = this.lostRole(this.lostFailedAt).replace(/,$/, "");
        extendMessage(error, `. The lease was clearing ${what}; it creates no other role until it has`);
      }
      throw error;
    });
    const next = await this.make(call);
    if (this.closed) {
      this.strays.push(next.role);
      throw this.closedError();
    }
    return { role: next.role, handed: this.handOver(next) };
  }

  /** After a failed replacement, the next try waits its backoff, cut short while the current role still works (timing.ts). */
  deferReplace(error: unknown): void {
    const now = this.deps.clock.now();
    const { expiresAt } = this.current;
    const next = replaceRetryPoint(now, this.replaceFailures + 1, expiresAt, this.random, retryAfterOf(error));
    if (next.spent) this.replaceFailures++;
    this.replaceRetryAt = next.at;
  }

  /**
   * Makes `next` current and tells onChange. Until onChange settles the previous role stays alive
   * and renewed (its grace has not started); the outcome is applied in the queue.
   */
  handOver(next: Current): Promise<void> {
    const previous = this.current as Current | undefined;
    this.current = next;
    const waiting = previous && { ...previous, deleteAt: Number.POSITIVE_INFINITY, deleteFailures: 0 };
    if (waiting) this.previous = waiting;
    this.#handOvers++;
    return this.#answerOf(next, previous).then((answer) =>
      this.exclusive(async () => this.#settle(answer, next, waiting)),
    );
  }

  /** onChange's outcome, waited for ONCHANGE_WAIT_MS at most, or until the lease closes. */
  async #answerOf(next: Current, previous: Current | undefined): Promise<ChangeAnswer> {
    // Stopped already (leaseRole's signal aborted as the create answered): the role is deleted, not handed.
    if (this.stop.signal.aborted) return "closed";
    let answer: unknown;
    try {
      answer = this.settings.onChange?.(next.role, previous?.role);
    } catch (error) {
      return { threw: error };
    }
    if (!isThenable(answer)) return "taken";
    const waited = new AbortController();
    const stopWaiting = () => waited.abort();
    this.stop.signal.addEventListener("abort", stopWaiting, { once: true });
    const late = this.deps.clock.sleep(ONCHANGE_WAIT_MS, waited.signal, { unref: true }).then(
      () => "late" as const,
      () => "closed" as const,
    );
    const taken = Promise.resolve(answer).then(
      () => "taken" as const,
      (error: unknown) => ({ threw: error }),
    );
    try {
      return await Promise.race([taken, late]);
    } finally {
      waited.abort();
      this.stop.signal.removeEventListener("abort", stopWaiting);
    }
  }

  /** Starts the previous role's grace, or (onChange threw) goes back to the previous role. */
  async #settle(answer: ChangeAnswer, next: Current, waiting: Previous | undefined): Promise<void> {
    this.#handOvers--;
    this.wake();
    if (this.closed) return;
    const now = this.deps.clock.now();
    if (typeof answer === "object") return this.#refused(answer.threw, next, waiting);
    if (answer === "late") {
      const left = waiting ? `; ${this.describe(waiting.role)} is deleted after its grace` : "";
      this.report(
        new PlanetScaleError(
          `lease: onChange has not settled ${ONCHANGE_WAIT_MS} ms after it was handed ${this.describe(next.role)}, ` +
            `so the lease goes on with that role without waiting any longer${left}`,
        ),
      );
    }
    if (waiting && this.previous === waiting) waiting.deleteAt = now + this.settings.graceMs;
  }

  /**
   * onChange threw: the previous role is current again. current() handed out the refused role
   * while onChange ran, so it gets the grace any replaced role gets before its delete.
   */
  #refused(error: unknown, next: Current, waiting: Previous | undefined): void {
    if (!waiting) throw error;
    if (this.current === next && this.previous === waiting) {
      const { deleteAt: _deleteAt, deleteFailures: _deleteFailures, ...held } = waiting;
      this.current = held;
      const deleteAt = this.deps.clock.now() + this.settings.graceMs;
      this.previous = { ...next, deleteAt, deleteFailures: 0 };
    }
    // onChange's words may carry either role's password (a connection string it could not open).
    const message = this.mask(error instanceof Error ? error.message : String(error), next.role, waiting.role);
    const failed = new PlanetScaleError(
      `lease: onChange failed (${printable(message)}), so the lease keeps ${this.describe(waiting.role)}`,
      { cause: maskedCause(error, this.secrets(next.role, waiting.role)) },
    );
    this.deferReplace(failed);
    throw failed;
  }

  /** What current() throws once the current role no longer works: when it stopped, and what to do. */
  expiredError(): PlanetScaleError {
    const { role, expiresAt = Number.NaN, gone } = this.current;
    const at = new Date(expiresAt).toISOString();
    const what = gone
      ? `was found gone (404) at ${at}`
      : `expired at ${at}, ${this.deps.clock.now() - expiresAt} ms ago`;
    const why = this.current.short
      ? `the API's answers gave it no more time: ${SHORT_CAUSE} (told to onError); the lease renews it on a backoff`
      : "the lease could not renew nor replace it in time (each failure was told to onError)";
    return new PlanetScaleError(
      `lease: ${this.describe(role)} ${what}: ${why}; await lease.fresh() makes a new role, or rejects saying why it cannot`,
    );
  }

  closedError(): PlanetScaleError {
    return new PlanetScaleError(`lease of ${printable(this.settings.name)} is closed`);
  }
}
