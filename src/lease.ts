// leaseRole: credentials that outlive their ttl. The lease renews its role before expires_at,
// replaces it (make before break) on rotation or when renewing no longer can keep it alive, checks
// the clock itself when asked for a fresh role, and deletes or names whatever it made when closed.
import { AbortError, extendMessage, NotFoundError, PlanetScaleError } from "./errors.ts";
import { type LeaseDeps, LeaseHolder, SHORT_CAUSE } from "./lease/holder.ts";
import { runDue, runLoop } from "./lease/loop.ts";
import { checkCloseOptions, checkFreshOptions, checkLeaseOptions, type LeaseOptions } from "./lease/options.ts";
import { wakeAt } from "./lease/timing.ts";
import { quietly } from "./request.ts";
import { masked, printable } from "./secrets.ts";
import type { CreateRoleParams, Role } from "./types.ts";

export type { LeaseDeps } from "./lease/holder.ts";
export type { LeaseOptions } from "./lease/options.ts";

export interface Lease {
  /** The role to connect with now, password included. Throws once the lease is closed. */
  current(): Role;
  /**
   * A role valid for at least `minValidityMs` (default: not expired; less than the ttl) from now. Looks at the clock
   * itself, so that a process whose timers did not run (a frozen serverless instance, a blocked
   * event loop) first does what was due: renews, rotates or replaces before answering.
   */
  fresh(options?: { minValidityMs?: number }): Promise<Role>;
  /**
   * Replaces the role now (a suspected leak), make before break; resolves to the new role. A role
   * still in its grace from an earlier rotation is deleted first, so that at most two are alive.
   */
  rotate(): Promise<Role>;
  /**
   * Stops every timer and deletes every role the lease made, unless `keepRoles`. A delete that
   * fails is named in the error, with how to delete it by hand.
   */
  close(options?: { keepRoles?: boolean }): Promise<void>;
}

/**
 * A login with the current role was refused: renew it now (a 404 marks it gone, for fresh() to
 * replace). Logins refused together share one check. A role without a ttl is never renewed.
 */
function check(holder: LeaseHolder): Promise<void> {
  const { current } = holder;
  if (holder.handingOver || current.expiresAt === undefined) return Promise.resolve();
  holder.checking ??= holder
    .exclusive(async () => {
      if (holder.closed || holder.current !== current) return;
      await holder.renew(current, (current.expiresAt ?? 0) - holder.settings.marginMs);
    })
    .catch((error: unknown) => holder.report(error))
    .finally(() => {
      holder.checking = undefined;
    });
  return holder.checking;
}

async function fresh(holder: LeaseHolder, options: unknown): Promise<Role> {
  const { minValidityMs, check: loginRefused } = checkFreshOptions(options, holder.settings.ttlMs);
  if (holder.closed) throw holder.closedError();
  if (loginRefused) await check(holder);
  const overdue = wakeAt(holder.times(), holder.deps.clock.now()) <= holder.deps.clock.now();
  // While onChange takes a new role, that role is the answer: it is current, and its predecessor still works.
  if (holder.handingOver || (!overdue && holder.validFor() > minValidityMs)) return holder.current.role;
  // The hand-over is awaited outside the queue (a promise in an object, so that nothing awaits it inside).
  const { handed } = await holder.exclusive(async () => {
    if (holder.closed) throw holder.closedError();
    await runDue(holder);
    const extended = holder.validFor() <= minValidityMs ? await extend(holder, minValidityMs) : {};
    holder.wake();
    return extended;
  });
  await handed;
  return holder.current.role;
}

/** Renews if that can be enough, else replaces (resolving to its hand-over); fails when no role valid for that long was had. */
async function extend(holder: LeaseHolder, minValidityMs: number): Promise<{ handed?: Promise<void> }> {
  const { current, settings } = holder;
  // A short role (its answers gave it no more than the margin) is renewed: a new one would be as short.
  if (current.expiresAt !== undefined && (holder.validFor() > settings.marginMs || current.short)) {
    const deadline = current.short ? Number.POSITIVE_INFINITY : current.expiresAt - settings.marginMs;
    await holder.renew(current, deadline).catch((error) => holder.report(error));
  }
  const replace = holder.validFor() <= minValidityMs && !holder.current.short;
  const replaced = replace ? (await holder.replace()).handed : undefined;
  if (holder.validFor() <= minValidityMs) {
    replaced?.catch((error: unknown) => holder.report(error));
    const why = holder.current.short ? `: ${SHORT_CAUSE} (told to onError)` : "";
    throw new PlanetScaleError(
      `lease: ${holder.describe(holder.current.role)} is valid for ${holder.validFor()} ms, not the ${minValidityMs} ms asked${why}`,
    );
  }
  return { handed: replaced };
}

/**
 * Refused once its turn comes while a hand-over is under way (another rotate's, or a call from
 * onChange itself): a second replacement would delete the role onChange is still switching from.
 */
function checkRotate(holder: LeaseHolder): void {
  if (holder.closed) throw holder.closedError();
  if (holder.handingOver) {
    throw new PlanetScaleError(
      "lease: rotate() was called while a hand-over is under way (another rotate(), or from onChange): " +
        "onChange has not settled for the role that rotation made, whose predecessor keeps its grace until it has",
    );
  }
}

async function rotate(holder: LeaseHolder): Promise<Role> {
  checkRotate(holder);
  const { role, handed } = await holder.exclusive(async () => {
    checkRotate(holder);
    try {
      return await holder.replace();
    } finally {
      holder.wake();
    }
  });
  await handed;
  if (holder.closed) throw holder.closedError();
  return role;
}

/** What close() says of a lost create's role it could not clear, and how to clear it by hand. */
function lostLeft(holder: LeaseHolder, name: string, why: string): string {
  const found = holder.lostFound.get(name);
  if (found) {
    return (
      `${holder.lostRole(name)} was left behind: deleting it failed: ${why}. ` +
      `Delete it with deleteRole({ organization, database, branch, id: ${JSON.stringify(printable(found.id))} })`
    );
  }
  const failed = name === holder.lostFailedAt ? `looking for it failed: ${why}` : "it was not looked for";
  const q = JSON.stringify(printable(name));
  return (
    `a role named ${printable(name)}, whose create answer was lost, may exist: ${failed}. ` +
    `Look for it with listRoles({ organization, database, branch, q: ${q} })`
  );
}

const withoutStop = (error: unknown) => (error as Error).message.replace(/\.$/, "");

/**
 * Deletes what the lease made (all of it, or only what nobody was handed); throws naming what is
 * left, after `lead` (what was under way).
 */
async function shutdown(holder: LeaseHolder, keepRoles: boolean, lead = "lease closed"): Promise<void> {
  holder.closed = true;
  holder.stop.abort();
  holder.wake();
  // The step under way ends first: a create it awaits may add a role to delete.
  await holder.exclusive(async () => {});
  const { client } = holder.deps;
  const made = keepRoles ? [] : [holder.previous?.role, holder.current?.role];
  const left: string[] = [];
  let cause: unknown;
  for (const role of [...holder.strays, ...made]) {
    if (!role) continue;
    try {
      await client.deleteRole({ ...holder.where, id: role.id });
    } catch (error) {
      if (error instanceof NotFoundError) continue;
      cause ??= error;
      left.push(
        `${holder.describe(role)} was left behind: deleting it failed: ${withoutStop(error)}. ` +
          `Delete it with deleteRole({ organization, database, branch, id: ${JSON.stringify(printable(role.id))} })`,
      );
    }
  }
  await holder.clearUnverified().catch((error: unknown) => {
    cause ??= error;
    for (const name of holder.unverified) left.push(lostLeft(holder, name, withoutStop(error)));
  });
  if (left.length > 0) throw new PlanetScaleError(`${lead}: ${left.join("; ")}.`, { operation: "delete_role", cause });
}

const INSPECT = Symbol.for("nodejs.util.inspect.custom");

function leaseOf(holder: LeaseHolder): Lease {
  let closing: Promise<void> | undefined;
  const { signal, onError } = holder.settings;
  const onAbort = () => lease.close().catch((error: PlanetScaleError) => quietly(onError, error));
  const lease: Lease = {
    current() {
      if (holder.closed) throw holder.closedError();
      // A role past its expiry would only be refused at login, far from why: say it here.
      if (holder.validFor() <= 0) throw holder.expiredError();
      return holder.current.role;
    },
    fresh: (options) => fresh(holder, options),
    rotate: () => rotate(holder),
    async close(options) {
      const keepRoles = checkCloseOptions(options);
      signal?.removeEventListener("abort", onAbort);
      closing ??= shutdown(holder, keepRoles);
      return closing;
    },
  };
  // Shown with its roles masked; the state lives in the closure, so no inspect mode reaches a password.
  Object.defineProperty(lease, INSPECT, {
    value(_depth: number, options: { depth?: number | null }, inspect: (value: unknown, options: object) => string) {
      // The roles are a level down in what is shown, and masked only as deep as inspect goes (secrets.ts).
      const below = (options?.depth ?? Number.POSITIVE_INFINITY) - 1;
      const shown = {
        name: holder.settings.name,
        closed: holder.closed,
        current: holder.closed ? undefined : masked(holder.current.role, below),
        previous: holder.previous && masked(holder.previous.role, below),
      };
      return typeof inspect === "function" ? `Lease ${inspect(shown, options)}` : shown;
    },
  });
  signal?.addEventListener("abort", onAbort, { once: true });
  return lease;
}

const ABORTED_WHILE_MADE = "leaseRole was aborted while its first role was made";

/**
 * The first role, handed to onChange; a failure leaves nothing behind, or names what it could not
 * delete. An abort of `signal` ends the create (sent with it) or the wait for onChange.
 */
async function start(holder: LeaseHolder, signal: AbortSignal | undefined): Promise<void> {
  const onAbort = () => holder.stop.abort();
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await holder.handOver(await holder.make(signal && { signal }));
  } catch (error) {
    const lost = holder.unverified.map((name) => JSON.stringify(printable(name))).join(", ");
    const cleared = await shutdown(holder, false, "leaseRole could not clean up after it").then(
      () => (lost ? `leaseRole then looked for ${lost} and deleted what it found: nothing is left behind` : ""),
      (left: Error) => left.message,
    );
    if (signal?.aborted)
      throw new AbortError(`${ABORTED_WHILE_MADE}. ${cleared || "Nothing is left behind."}`, { cause: signal.reason });
    // The create's own message may end its last sentence already.
    if (error instanceof Error && cleared) extendMessage(error, `${/\.$/.test(error.message) ? "" : "."} ${cleared}`);
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** The first role was handed over, but the signal aborted meanwhile: it is deleted, or named. */
async function abandon(holder: LeaseHolder, signal: AbortSignal): Promise<never> {
  await shutdown(holder, false, ABORTED_WHILE_MADE).catch((left: PlanetScaleError) => {
    throw new AbortError(left.message, { operation: "delete_role", cause: left.cause });
  });
  throw new AbortError(`${ABORTED_WHILE_MADE}; the role was deleted`, { cause: signal.reason });
}

/**
 * Creates a role and keeps credentials valid from it for as long as the lease is open. Resolves
 * once the first role exists (and onChange, if given, has taken it).
 */
export async function leaseRole(deps: LeaseDeps, params: CreateRoleParams, options?: LeaseOptions): Promise<Lease> {
  const settings = checkLeaseOptions(params, options);
  const { signal } = settings;
  if (signal?.aborted) {
    throw new AbortError("leaseRole was aborted before anything was created", { cause: signal.reason });
  }
  const holder = new LeaseHolder(deps, settings, params);
  await start(holder, signal);
  if (signal?.aborted) return abandon(holder, signal);
  const lease = leaseOf(holder);
  void runLoop(holder);
  return lease;
}
