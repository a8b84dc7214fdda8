// The lease's options, checked before anything is created: each refusal names the option and what
// it may be, as the client's own checks do.
import { InvalidRequestError, type PlanetScaleError } from "../errors.ts";
import type { CreateRoleParams, Role } from "../types.ts";
import { checkDuration, checkRequestOptions } from "../validate.ts";
import { defaultRenewBeforeMs, safetyMarginMs } from "./timing.ts";

export interface LeaseOptions {
  /** Renew this long before expires_at. Default: a third of the ttl, moved earlier by up to a tenth of it at random. */
  renewBeforeMs?: number;
  /** Replace the role with a new one this long after it was made. Default: never (renew only). */
  rotateAfterMs?: number;
  /** A replaced role stays alive this long after its successor was handed out. Default 60 000. */
  graceMs?: number;
  /**
   * Told of every new role, the first one included (with `previous` undefined), and awaited: the
   * previous role's grace starts once it resolves (or after 10 minutes, told to onError). Both
   * roles are renewed meanwhile. If it throws, the lease goes back to the previous role, and the new
   * one (which current() handed out meanwhile) is deleted after graceMs.
   */
  onChange?: (next: Role, previous: Role | undefined) => unknown;
  /** Told of each failed renewal, replacement or delete the lease makes on its own; the lease keeps trying. */
  onError?: (error: PlanetScaleError) => unknown;
  /** Closes the lease (deleting its roles) when it aborts. */
  signal?: AbortSignal;
}

export const DEFAULT_GRACE_MS = 60_000;
const LEASE_OPTIONS = ["renewBeforeMs", "rotateAfterMs", "graceMs", "onChange", "onError", "signal"] as const;

/** The options as the lease uses them, defaults filled in. */
export interface LeaseSettings {
  /** undefined: the role does not expire (no ttl), so it is never renewed. */
  ttlMs: number | undefined;
  renewBeforeMs: number;
  marginMs: number;
  rotateAfterMs: number | undefined;
  graceMs: number;
  onChange: LeaseOptions["onChange"];
  onError: LeaseOptions["onError"];
  signal: AbortSignal | undefined;
}

/** `who` says whose option it is, and `after` what its refusal left as it was. */
function refuse(field: string, allowed: string, who = "leaseRole", after = "Nothing was created."): never {
  throw new InvalidRequestError(`${who}: ${field} must be ${allowed}. ${after}`, { field });
}
function refuseClose(field: string, allowed: string): never {
  refuse(field, allowed, "lease.close", "Nothing was deleted: the lease is still open.");
}
function refuseFresh(field: string, allowed: string): never {
  refuse(field, allowed, "lease.fresh", "Nothing was sent.");
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Only what the lease itself needs of the params; create_role checks the rest before sending. */
function checkParams(params: unknown): { name: string; ttlMs: number | undefined } {
  if (!isPlainObject(params)) refuse("params", "an object of create_role's path parameters and fields");
  const { name, ttl } = params as Partial<CreateRoleParams>;
  if (typeof name !== "string" || name.trim() === "") {
    refuse("name", "a non-empty string (the lease names its roles <name>-<8 random characters>)");
  }
  const ttlMs = Number.isSafeInteger(ttl) && (ttl as number) > 0 ? (ttl as number) * 1000 : undefined;
  return { name, ttlMs };
}

function checkRenewBefore(value: unknown, ttlMs: number | undefined): number {
  if (value === undefined) return ttlMs === undefined ? 0 : defaultRenewBeforeMs(ttlMs / 1000);
  if (ttlMs === undefined) refuse("renewBeforeMs", "left out without a ttl: a role without one never expires");
  checkDuration("leaseRole", "renewBeforeMs", value, 1);
  if ((value as number) >= ttlMs) refuse("renewBeforeMs", `less than the ttl (${ttlMs} ms)`);
  if (safetyMarginMs(value as number) < 1) {
    refuse(
      "renewBeforeMs",
      "at least 2 ms: a quarter of it (rounded) is the safety margin under which the lease replaces its role " +
        "rather than renew it, and it must be more than 0 ms",
    );
  }
  return value as number;
}

function checkHook(field: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") refuse(field, "a function");
}

export function checkLeaseOptions(params: unknown, options: unknown): LeaseSettings & { name: string } {
  const { name, ttlMs } = checkParams(params);
  if (options === undefined) options = {};
  if (!isPlainObject(options)) refuse("options", `an object of ${LEASE_OPTIONS.join(", ")}`);
  const unknown = Object.keys(options).find((key) => !(LEASE_OPTIONS as readonly string[]).includes(key));
  if (unknown !== undefined) refuse(`options.${unknown}`, `left out: the options are ${LEASE_OPTIONS.join(", ")}`);
  const given = options as LeaseOptions;
  const renewBeforeMs = checkRenewBefore(given.renewBeforeMs, ttlMs);
  checkDuration("leaseRole", "graceMs", given.graceMs, 0);
  const graceMs = given.graceMs ?? DEFAULT_GRACE_MS;
  checkDuration("leaseRole", "rotateAfterMs", given.rotateAfterMs, 1);
  if (given.rotateAfterMs !== undefined && given.rotateAfterMs <= graceMs) {
    refuse("rotateAfterMs", `longer than graceMs (${graceMs} ms), so that a role's grace ends before it is replaced`);
  }
  checkHook("onChange", given.onChange);
  checkHook("onError", given.onError);
  // The client's own check: a forged one (Object.create(AbortSignal.prototype)) passes instanceof.
  if (given.signal !== undefined) checkRequestOptions("leaseRole", { signal: given.signal });
  const { rotateAfterMs, onChange, onError, signal } = given;
  const marginMs = safetyMarginMs(renewBeforeMs);
  return { name, ttlMs, renewBeforeMs, marginMs, rotateAfterMs, graceMs, onChange, onError, signal };
}

/**
 * The key with which createPool's refused-login path asks fresh() to check the role now (renew
 * it: a 404 replaces it), since a role deleted on the server is not due for anything. A symbol,
 * so that it adds nothing to fresh()'s public options; Symbol.for, so that the pg entry's bundle
 * names the same one.
 */
export const LOGIN_REFUSED = Symbol.for("planetscale-roles.loginRefused");

/** fresh()'s options: minValidityMs must be something a new role can give. */
export function checkFreshOptions(
  options: unknown,
  ttlMs: number | undefined,
): { minValidityMs: number; check: boolean } {
  if (options === undefined) return { minValidityMs: 0, check: false };
  if (!isPlainObject(options)) refuseFresh("options", "an object of minValidityMs");
  const unknown = Object.keys(options).find((key) => key !== "minValidityMs");
  if (unknown !== undefined) refuseFresh(`options.${unknown}`, "left out: fresh takes minValidityMs");
  const { minValidityMs } = options as { minValidityMs?: unknown };
  checkDuration("lease.fresh", "minValidityMs", minValidityMs, 0);
  // A new role is valid for the ttl at best, counted from its create, and the clock has moved by
  // the time anyone asks: asking for the whole ttl would make a new role on every call in vain.
  if (ttlMs !== undefined && (minValidityMs as number) >= ttlMs) {
    refuseFresh("minValidityMs", `less than the ttl (${ttlMs} ms): no role stays valid for the whole ttl once made`);
  }
  const check = (options as { [LOGIN_REFUSED]?: unknown })[LOGIN_REFUSED] === true;
  return { minValidityMs: (minValidityMs as number | undefined) ?? 0, check };
}

export function checkCloseOptions(options: unknown): boolean {
  if (options === undefined) return false;
  if (!isPlainObject(options)) refuseClose("options", "an object of keepRoles");
  const unknown = Object.keys(options).find((key) => key !== "keepRoles");
  if (unknown !== undefined) refuseClose(`options.${unknown}`, "left out: close takes keepRoles");
  const { keepRoles } = options as { keepRoles?: unknown };
  if (keepRoles !== undefined && typeof keepRoles !== "boolean") refuseClose("keepRoles", "true or false");
  return keepRoles === true;
}
