// Checks every call's input against what the spec says about the operation (generated), plus the
// few rules the API enforces that the spec does not state. Nothing is sent until it passes.

import type { ClientOptions } from "./client.ts";
import { TIMER_LIMIT_MS } from "./clock.ts";
import { InvalidRequestError } from "./errors.ts";
import {
  INHERITED_ROLES as GENERATED_INHERITED_ROLES,
  type Operation,
  type OperationId,
} from "./generated/operations.ts";
import { type FieldSchema, schemaProblem } from "./schema.ts";
import { printable } from "./secrets.ts";
import { assertSafeUrl } from "./transport.ts";
import type { InheritedRole, RequestOptions } from "./types.ts";

/** The roles a new role may inherit, as the spec lists them (generated). */
export const INHERITED_ROLES: readonly InheritedRole[] = GENERATED_INHERITED_ROLES;

export interface SplitParams {
  path: Record<string, string>;
  query: Record<string, unknown>;
  body: Record<string, unknown> | undefined;
}

// A path parameter is one URL segment. Allowing only URL-unreserved characters (and no leading
// dot, so no "." or "..") means no value can reach another endpoint, however it is encoded.
const PATH_SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*$/;

// Rules the API applies that the spec leaves out, keyed by field name wherever it appears.
const EXTRA_RULES: Record<string, (value: unknown) => string | undefined> = {
  ttl: (value) => ((value as number) < 0 ? "a non-negative integer number of seconds" : undefined),
  name: (value) => ((value as string).trim() === "" ? "a non-empty string" : undefined),
  successor: (value) => ((value as string).trim() === "" ? "a non-empty role id or username" : undefined),
  page: (value) => ((value as number) < 1 ? "an integer of 1 or more" : undefined),
  per_page: (value) => ((value as number) < 1 ? "an integer of 1 or more" : undefined),
};

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return printable(JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value));
  if (typeof value === "number") return String(value);
  return typeof value;
}

/** A call's input refused before sending: the operation, what is wrong, and that nothing went out. */
function refuse(operation: string, field: string, what: string): never {
  throw new InvalidRequestError(`${operation}: ${what}. Nothing was sent.`, { operation, field });
}

function fail(operation: string, field: string, allowed: string, value: unknown): never {
  refuse(operation, field, `${field} must be ${allowed}; got ${describe(value)}`);
}

/** A key that is none of the allowed ones, refused naming them. */
function refuseUnknown(operation: string, field: string, what: string, key: string, allowed: readonly string[]): never {
  refuse(operation, field, `unknown ${what} ${JSON.stringify(key)}; allowed: ${allowed.join(", ")}`);
}

/** Checks one value the caller gives against its generated schema, and the API's unwritten rules. */
export function checkValue(operation: string, field: string, schema: FieldSchema, value: unknown): void {
  const problem = schemaProblem(schema, value, field, true);
  if (problem?.kind === "missing") fail(operation, problem.names[0] as string, "given", undefined);
  if (problem) fail(operation, problem.at, problem.expected, problem.value);
  const broken = EXTRA_RULES[field]?.(value);
  if (broken) fail(operation, field, broken, value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * A path parameter: one URL segment that cannot reach another route, however it is encoded.
 * `siblings`: the literal segments other routes have in its place (`…/roles/{id}` with id "default"
 * would be `…/roles/default`, get_default_role), which the generator derives from the spec's paths.
 */
function checkPathParam(operation: OperationId, name: string, value: unknown, siblings?: readonly string[]): string {
  if (value === undefined || value === "") fail(operation, name, "given (a non-empty string)", value);
  if (typeof value !== "string") fail(operation, name, "a string", value);
  if (!PATH_SEGMENT.test(value)) {
    fail(
      operation,
      name,
      "a single path segment of letters, digits, '-', '_', '.', '~' (not starting with '.')",
      value,
    );
  }
  // "default.json" too: a server that reads format suffixes (Rails does) routes it to "default".
  const dot = value.indexOf(".");
  if (siblings?.includes(dot === -1 ? value : value.slice(0, dot))) {
    const allowed = `other than ${siblings.join(", ")}, with or without a .suffix (those are other routes' paths)`;
    fail(operation, name, allowed, value);
  }
  return value;
}

/** Validates `params` for the operation and sorts them into path, query and body. */
export function splitParams(facts: Operation, params: unknown): SplitParams {
  const operation = facts.id;
  if (!isPlainObject(params)) fail(operation, "params", "a plain object of path parameters and fields", params);
  const split: SplitParams = { path: {}, query: {}, body: facts.body ? {} : undefined };
  const pathParams: readonly string[] = facts.pathParams;
  const query: Record<string, FieldSchema> = facts.query;
  const fields: Record<string, FieldSchema> = facts.body?.fields ?? {};
  const siblings: Record<string, readonly string[] | undefined> = facts.siblingSegments;
  for (const name of pathParams) split.path[name] = checkPathParam(operation, name, params[name], siblings[name]);
  for (const name of facts.body?.required ?? []) {
    if (params[name] === undefined) fail(operation, name, "given", undefined);
  }
  for (const name of Object.keys(params)) {
    const value = params[name];
    if (value === undefined || pathParams.includes(name)) continue;
    const inQuery = Object.hasOwn(query, name);
    const schema = inQuery ? query[name] : Object.hasOwn(fields, name) ? fields[name] : undefined;
    if (!schema) {
      refuseUnknown(operation, name, "field", name, [...pathParams, ...Object.keys(query), ...Object.keys(fields)]);
    }
    checkValue(operation, name, schema, value);
    if (inQuery) {
      // A URL cannot carry half a character: encodeURIComponent would throw once the call was under
      // way, as if it had been sent. (A body's JSON escapes it; path parameters are ASCII.)
      if (/\p{Cs}/u.test(value as string)) fail(operation, name, "well-formed text (no lone surrogate)", value);
      split.query[name] = value;
    } else if (split.body) split.body[name] = value;
  }
  return split;
}

/** A number option: finite (or an integer), at least `min`, at most `max`. */
export function checkNumber(
  operation: string,
  field: string,
  value: unknown,
  { integer = false, min = 0, max = Number.MAX_SAFE_INTEGER }: { integer?: boolean; min?: number; max?: number },
): void {
  if (value === undefined) return;
  const ok = typeof value === "number" && (integer ? Number.isSafeInteger(value) : Number.isFinite(value));
  if (!ok || (value as number) < min || (value as number) > max) {
    const kind = integer ? "an integer" : "a number";
    const range = max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`;
    fail(operation, field, `${kind} ${range}`, value);
  }
}

/** A wait in ms that a timer can hold. */
export function checkDuration(operation: string, field: string, value: unknown, min: number): void {
  checkNumber(operation, field, value, { min, max: TIMER_LIMIT_MS });
}

/** A real AbortSignal: `Object.create(AbortSignal.prototype)` passes instanceof but not its own getter. */
function isAbortSignal(value: unknown): value is AbortSignal {
  if (!(value instanceof AbortSignal)) return false;
  try {
    return typeof value.aborted === "boolean";
  } catch {
    return false;
  }
}

const REQUEST_OPTION_KEYS = ["signal", "timeoutMs", "maxRetries", "headers"];
// RFC 9110 token characters for a name; a value of visible characters, spaces and tabs only, so
// that no header can smuggle in another.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

// Headers fetch manages itself or refuses to send (asking for them would fail after the call began),
// and the two the client depends on: JSON bodies, and answers never compressed (see client.ts).
const FORBIDDEN_HEADERS = new Set([
  "accept-encoding",
  "content-type",
  "connection",
  "content-length",
  "expect",
  "host",
  "keep-alive",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

function checkHeaders(operation: string, headers: unknown): void {
  if (headers === undefined) return;
  if (!isPlainObject(headers)) fail(operation, "headers", "an object of header names and string values", headers);
  for (const [name, value] of Object.entries(headers)) {
    const field = `headers[${JSON.stringify(name)}]`;
    if (!HEADER_NAME.test(name)) fail(operation, field, "named by a valid header name", name);
    if (name.toLowerCase() === "authorization") {
      fail(
        operation,
        field,
        "left out: the credentials header comes from the client's serviceToken or accessToken",
        "",
      );
    }
    if (FORBIDDEN_HEADERS.has(name.toLowerCase())) {
      fail(operation, field, "left out: fetch or the client sets it itself", name);
    }
    if (typeof value !== "string" || !HEADER_VALUE.test(value)) {
      fail(operation, field, "a string without line breaks or control characters", value);
    }
  }
}
const CREATE_OPTION_KEYS = [...REQUEST_OPTION_KEYS, "recoverAmbiguous"];

/** Checks a call's options before anything is sent; `undefined` stands for none. */
export function checkRequestOptions(operation: string, options: unknown): RequestOptions {
  if (options === undefined) return {};
  if (!isPlainObject(options)) fail(operation, "options", "an object of request options", options);
  const known = operation === "create_role" ? CREATE_OPTION_KEYS : REQUEST_OPTION_KEYS;
  const unknown = Object.keys(options).find((key) => !known.includes(key));
  if (unknown !== undefined) refuseUnknown(operation, `options.${unknown}`, "option", unknown, known);
  const { signal } = options as RequestOptions;
  if (signal !== undefined && !isAbortSignal(signal)) fail(operation, "signal", "an AbortSignal", signal);
  checkDuration(operation, "timeoutMs", options.timeoutMs, 1);
  checkHeaders(operation, options.headers);
  checkNumber(operation, "maxRetries", options.maxRetries, { integer: true });
  return options as RequestOptions;
}

/** A raw request's options: its own fetch would skip the guarded fetch (https, credentials, redirects). */
export async function checkedRawInit(init: unknown): Promise<void> {
  if (typeof init === "object" && init !== null && (init as { fetch?: unknown }).fetch !== undefined) {
    throw new InvalidRequestError(
      "raw: a request's own fetch would skip the client's transport rules; pass fetch to createClient instead. Nothing was sent.",
      { field: "fetch" },
    );
  }
}

/** createRole's options: the request options and recoverAmbiguous, which needs a name to recover by. */
export function checkCreateOptions(params: unknown, options: unknown): RequestOptions & { recoverAmbiguous?: boolean } {
  const checked = checkRequestOptions("create_role", options) as RequestOptions & { recoverAmbiguous?: unknown };
  const { recoverAmbiguous } = checked;
  if (recoverAmbiguous !== undefined && typeof recoverAmbiguous !== "boolean") {
    refuse("create_role", "recoverAmbiguous", "recoverAmbiguous must be true or false");
  }
  const name = (params as { name?: unknown } | undefined)?.name;
  if (recoverAmbiguous && (typeof name !== "string" || name.trim() === "")) {
    refuse("create_role", "name", "recoverAmbiguous needs a name, to find the role a lost answer created");
  }
  return checked as RequestOptions & { recoverAmbiguous?: boolean };
}

/** createTemporaryRole's own rules: a callback to hand the role to, and a role that expires. */
export function checkTemporaryRole(params: unknown, use: unknown): void {
  if (typeof use !== "function") {
    throw new InvalidRequestError("create_role: createTemporaryRole needs a function to hand the role to", {
      operation: "create_role",
      field: "fn",
    });
  }
  if ((params as { ttl?: unknown } | undefined)?.ttl === 0) {
    // ttl 0 is a role that never expires: a process killed during the callback would leave it for good.
    fail("create_role", "ttl", "a positive number of seconds for a temporary role (0 never expires)", 0);
  }
}

// Every option ClientOptions declares: an unknown one is a typo, and refused.
const CLIENT_OPTIONS = [
  "serviceToken",
  "accessToken",
  "baseUrl",
  "fetch",
  "timeoutMs",
  "maxRetries",
  "userAgent",
  "backoff",
  "logger",
  "maxConcurrency",
  "rateLimiter",
  "onRetry",
  "clock",
  "env",
] as const satisfies readonly (keyof ClientOptions)[];
const BACKOFF_OPTIONS = ["baseMs", "maxMs", "maxRetryAfterMs"];

/** createClient's options as given: an object of known options, of the right kinds where a default would hide a mistake. */
export function checkClientShape(options: ClientOptions): void {
  const refuse = (field: string, allowed: string) => {
    throw new InvalidRequestError(`createClient: ${field} must be ${allowed}`, { field });
  };
  if (typeof options !== "object" || options === null) refuse("options", "an object");
  const unknown = Object.keys(options).find((key) => !(CLIENT_OPTIONS as readonly string[]).includes(key));
  if (unknown !== undefined) refuse(`options.${unknown}`, `left out: the options are ${CLIENT_OPTIONS.join(", ")}`);
  const { backoff, logger, env, serviceToken } = options;
  if (backoff !== undefined) {
    if (typeof backoff !== "object" || backoff === null)
      refuse("backoff", `an object of ${BACKOFF_OPTIONS.join(", ")}`);
    const extra = Object.keys(backoff).find((key) => !BACKOFF_OPTIONS.includes(key));
    if (extra !== undefined) refuse(`backoff.${extra}`, `left out: backoff takes ${BACKOFF_OPTIONS.join(", ")}`);
  }
  // A misspelt field (`secret` for `token`) would be dropped without a word; named, never its value.
  if (typeof serviceToken === "object" && serviceToken !== null) {
    const extra = Object.keys(serviceToken).find((key) => key !== "id" && key !== "token");
    if (extra !== undefined) refuse(`serviceToken.${extra}`, "left out: serviceToken takes id, token");
  }
  if (logger !== undefined && typeof logger !== "function") refuse("logger", "a function");
  if (env !== undefined && (typeof env !== "object" || env === null)) refuse("env", "an object of variables");
}

function checkRateLimiter(limiter: unknown): void {
  if (limiter === false) return;
  const methods = ["acquire", "limited", "accepted"] as const;
  const shaped =
    typeof limiter === "object" &&
    limiter !== null &&
    methods.every((name) => typeof (limiter as Record<string, unknown>)[name] === "function");
  if (!shaped) {
    throw new InvalidRequestError(
      "createClient: rateLimiter must be false or an object with acquire, limited and accepted methods (see RateLimiter)",
      { field: "rateLimiter" },
    );
  }
  const { bind } = limiter as { bind?: unknown };
  if (bind !== undefined && typeof bind !== "function") {
    throw new InvalidRequestError("createClient: rateLimiter.bind must be a function when given", {
      field: "rateLimiter.bind",
    });
  }
}

function checkClock(clock: unknown): void {
  const methods = ["now", "sleep", "timeout"];
  const shaped =
    typeof clock === "object" &&
    clock !== null &&
    methods.every((name) => typeof (clock as Record<string, unknown>)[name] === "function");
  if (!shaped) {
    throw new InvalidRequestError(
      "createClient: clock must be an object with now, sleep and timeout methods (see Clock)",
      {
        field: "clock",
      },
    );
  }
}

/** The fetch a client sends with: the caller's, or the global one, which some runtimes lack. */
export function checkFetch(fetch: unknown): void {
  if (typeof fetch !== "function") {
    const why = fetch === undefined ? " (no global fetch found)" : `; got ${describe(fetch)}`;
    throw new InvalidRequestError(`createClient: fetch must be a function${why}`, { field: "fetch" });
  }
}

/** createClient's settings once the defaults are in: each in its range, before any request. */
export function checkClientSettings(settings: {
  baseUrl: string;
  fetch: unknown;
  timeoutMs: unknown;
  maxRetries: unknown;
  userAgent: unknown;
  backoff: { baseMs?: unknown; maxMs?: unknown; maxRetryAfterMs?: unknown };
  maxConcurrency: unknown;
  rateLimiter: unknown;
  onRetry: unknown;
  clock: unknown;
}): void {
  const { backoff, maxConcurrency, userAgent } = settings;
  checkDuration("createClient", "timeoutMs", settings.timeoutMs, 1);
  checkNumber("createClient", "maxRetries", settings.maxRetries, { integer: true });
  checkDuration("createClient", "backoff.baseMs", backoff.baseMs, 0);
  checkDuration("createClient", "backoff.maxMs", backoff.maxMs, 0);
  checkDuration("createClient", "backoff.maxRetryAfterMs", backoff.maxRetryAfterMs, 0);
  if (maxConcurrency !== Number.POSITIVE_INFINITY) {
    checkNumber("createClient", "maxConcurrency", maxConcurrency, { integer: true, min: 1 });
  }
  checkRateLimiter(settings.rateLimiter);
  checkClock(settings.clock);
  if (settings.onRetry !== undefined && typeof settings.onRetry !== "function") {
    throw new InvalidRequestError("createClient: onRetry must be a function", { field: "onRetry" });
  }
  checkFetch(settings.fetch);
  if (userAgent !== undefined && (typeof userAgent !== "string" || !/^[\x20-\x7e]*$/.test(userAgent))) {
    throw new InvalidRequestError("createClient: userAgent must be a string of printable ASCII", {
      field: "userAgent",
    });
  }
  assertSafeUrl(settings.baseUrl);
}
