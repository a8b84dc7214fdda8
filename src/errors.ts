// The whole error hierarchy, and every error the package throws after its input was accepted: an
// answer mapped to its class, a failed fetch, a fired deadline or abort, an unusable 2xx, and the
// words that say what an unknown outcome means and how to check. Input refusals are made in
// validate.ts (InvalidRequestError), where the rules are.
import type { OperationId } from "./generated/operations.ts";
import type { OperationRule } from "./retry.ts";
import { printable, redactText } from "./secrets.ts";

export interface ErrorDetails {
  /** The operation id from the spec, e.g. "create_role". */
  operation?: string | undefined;
  status?: number | undefined;
  /** The API's error code, e.g. "not_found", when the body was `{code, message}`. */
  code?: string | undefined;
  /** The API's own message, when the body carried one. */
  apiMessage?: string | undefined;
  requestId?: string | undefined;
  /** The answer's headers, when there was an answer (rate-limit headers, for instance). */
  headers?: Headers | undefined;
  /** True when the request may have taken effect although no usable answer came back. */
  outcomeUnknown?: boolean | undefined;
  cause?: unknown;
}

// Kept beside the errors rather than on them: no inspect mode shows a WeakMap's entries, a server may
// echo anything in a header, and an unusable answer may hold a password. (A #private field would do
// as well, but puts `#private` in the shipped .d.ts, which a consumer targeting ES5 cannot read.)
const hiddenHeaders = new WeakMap<Error, Headers>();
const hiddenBodies = new WeakMap<Error, string>();

// The fields are `declare`d: each constructor assigns them, so none is defined first as undefined.
export class PlanetScaleError extends Error {
  override name = "PlanetScaleError";
  declare readonly operation: string | undefined;
  declare readonly status: number | undefined;
  declare readonly code: string | undefined;
  declare readonly apiMessage: string | undefined;
  declare readonly requestId: string | undefined;
  /** The request may have taken effect on the server; see the message for how to check. */
  declare outcomeUnknown: boolean;

  constructor(message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.operation = details.operation;
    this.status = details.status;
    this.code = details.code;
    this.apiMessage = details.apiMessage;
    this.requestId = details.requestId;
    if (details.headers) hiddenHeaders.set(this, details.headers);
    this.outcomeUnknown = details.outcomeUnknown ?? false;
  }

  /** The answer's headers, when there was an answer (rate-limit headers, for instance). */
  get headers(): Headers | undefined {
    return hiddenHeaders.get(this);
  }

  /**
   * Shown as Node shows an error, but never through getters (`util.inspect(error, { getters:
   * true })` would call `body` and `headers`, which may hold a password or an echoed token).
   */
  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: number,
    options: object,
    inspect: (value: unknown, options: object) => string,
  ): string {
    return inspect(this, { ...options, customInspect: false, getters: false });
  }
}

/**
 * Adds to an error's message once more is known. The stack is rebuilt as `name: message` over the
 * original frames: V8 formats a stack lazily, so it may already hold the new message, and a
 * textual replace would repeat it.
 */
export function extendMessage(error: Error, more: string): void {
  const stack = error.stack ?? "";
  const at = stack.indexOf("\n    at ");
  // No frames (Error.stackTraceLimit = 0): the stack is the header alone.
  const frames = at >= 0 ? stack.slice(at) : "";
  error.message = `${error.message}${more}`;
  error.stack = `${error.name}: ${error.message}${frames}`;
}

/** Rejected before anything was sent: the request could never have succeeded as given. */
export class InvalidRequestError extends PlanetScaleError {
  override name = "InvalidRequestError";
  /** The offending input, e.g. "ttl" or "inherited_roles[1]". */
  declare readonly field: string | undefined;
  constructor(message: string, details: ErrorDetails & { field?: string } = {}) {
    super(message, details);
    this.field = details.field;
  }
}

export class AuthenticationError extends PlanetScaleError {
  override name = "AuthenticationError";
}

/** What an operation needs of the credentials, as the spec says (its generated facts). */
export interface Needs {
  readonly serviceTokenAccesses: readonly string[];
  readonly oauthScopes: Readonly<Record<string, readonly string[]>>;
}

export class PermissionDeniedError extends PlanetScaleError {
  override name = "PermissionDeniedError";
  /** Service-token accesses of which the operation needs at least one, from the spec. */
  declare readonly serviceTokenAccesses: readonly string[];
  /** OAuth scopes, per resource level, of which the operation needs at least one. */
  declare readonly oauthScopes: Readonly<Record<string, readonly string[]>>;
  constructor(message: string, details: ErrorDetails & { needs?: Needs | undefined } = {}) {
    super(`${message}${needsText(details.operation, details.needs)}`, details);
    this.serviceTokenAccesses = details.needs?.serviceTokenAccesses ?? [];
    this.oauthScopes = details.needs?.oauthScopes ?? {};
  }
}

export class NotFoundError extends PlanetScaleError {
  override name = "NotFoundError";
}

export class RateLimitError extends PlanetScaleError {
  override name = "RateLimitError";
  /** How long the server asked us to wait, when it said so. */
  declare readonly retryAfterMs: number | undefined;
  constructor(message: string, details: ErrorDetails & { retryAfterMs?: number | undefined } = {}) {
    super(message, details);
    this.retryAfterMs = details.retryAfterMs;
  }
}

export class ServerError extends PlanetScaleError {
  override name = "ServerError";
}

export class ConnectionError extends PlanetScaleError {
  override name = "ConnectionError";
  /** False only when the connection was never established, so the server cannot have seen the request. */
  declare readonly requestSent: boolean;
  constructor(message: string, details: ErrorDetails & { requestSent: boolean }) {
    super(message, details);
    this.requestSent = details.requestSent;
  }
}

export class TimeoutError extends PlanetScaleError {
  override name = "TimeoutError";
}

/** The caller's AbortSignal fired. */
export class AbortError extends PlanetScaleError {
  override name = "AbortError";
}

/**
 * A 2xx (or a redirect) the client cannot use. `body` keeps the raw text so that a one-time
 * password in a garbled answer is still recoverable; it is hidden from inspect and logs.
 */
export class UnexpectedResponseError extends PlanetScaleError {
  override name = "UnexpectedResponseError";
  constructor(message: string, details: ErrorDetails & { body: string }) {
    super(message, details);
    hiddenBodies.set(this, details.body);
  }
  /** The raw answer, as far as it was read; it may hold the only copy of a password. */
  get body(): string {
    return hiddenBodies.get(this) ?? "";
  }
}

/** The sentence a 403's message ends with: which accesses or scopes would do. */
function needsText(operation: string | undefined, needs: Needs | undefined): string {
  if (!needs) return "";
  const scopes = Object.entries(needs.oauthScopes).map(([level, list]) => `${level}: ${list.join(", ")}`);
  return (
    `. ${operation} needs a service token with one of these accesses: ${needs.serviceTokenAccesses.join(", ")}` +
    `; or an OAuth token with one of these scopes (${scopes.join("; ")})`
  );
}

const REQUEST_ID_HEADERS = ["x-request-id", "request-id", "x-planetscale-request-id"];

/** The answer's request id: printable, and with any credential it echoes masked. */
export function requestIdOf(headers: Headers, secrets: readonly string[]): string | undefined {
  for (const name of REQUEST_ID_HEADERS) {
    const value = headers.get(name);
    if (value) return printable(redactText(value, secrets));
  }
  return undefined;
}

/**
 * Reads `{code, message}` if the body is that; anything else (empty, HTML, text) gives nothing.
 * Both are the server's text: printable, and with any credential it echoes masked.
 */
function apiErrorOf(text: string, secrets: readonly string[]): { code?: string; message?: string } {
  const clean = (value: unknown) => (typeof value === "string" ? printable(redactText(value, secrets)) : undefined);
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null) return {};
    const { code, message } = parsed as Record<string, unknown>;
    return { code: clean(code), message: clean(message) };
  } catch {
    return {};
  }
}

const STATUS_TEXT: Record<number, string> = {
  401: "the credentials were not accepted",
  403: "the credentials are not allowed to do this",
  404: "not found (the organization, database, branch or role does not exist, or the credentials cannot see it)",
  429: "rate limited",
};

/** The one place where a non-2xx answer becomes an error class. */
export function errorFromResponse(
  operation: string,
  response: Response,
  text: string,
  extra: { retryAfterMs?: number | undefined; secrets?: readonly string[]; needs?: Needs } = {},
): PlanetScaleError {
  const { status } = response;
  const api = apiErrorOf(text, extra.secrets ?? []);
  const requestId = requestIdOf(response.headers, extra.secrets ?? []);
  const said = api.message ?? STATUS_TEXT[status] ?? (printable(response.statusText) || "no explanation was given");
  const details: ErrorDetails = {
    operation,
    status,
    code: api.code,
    apiMessage: api.message,
    requestId,
    headers: response.headers,
  };
  const message = `${operation} failed: ${status}${api.code ? ` ${api.code}` : ""}: ${said}${requestId ? ` (request id ${requestId})` : ""}`;
  if (status === 401) return new AuthenticationError(message, details);
  if (status === 403) return new PermissionDeniedError(message, { ...details, needs: extra.needs });
  if (status === 404) return new NotFoundError(message, details);
  if (status === 429) return new RateLimitError(message, { ...details, retryAfterMs: extra.retryAfterMs });
  // A 5xx may come after the server acted (a proxy timing out, a crash after the write).
  if (status >= 500) return new ServerError(message, { ...details, outcomeUnknown: true });
  if (status >= 300 && status < 400) {
    // A Location may echo the credentials, as any header may.
    const location = printable(redactText(response.headers.get("location") ?? "nowhere", extra.secrets ?? []));
    return new UnexpectedResponseError(
      `${operation} was redirected (${status}) to ${location}; redirects are not followed, so credentials are never sent to another address`,
      // 302 and 303 are how a server points at what a POST made; 307 and 308 say nothing was done here.
      { ...details, body: text, outcomeUnknown: status !== 307 && status !== 308 },
    );
  }
  // 400, 409, 422…: the API refused the request as sent. InvalidRequestError is kept for what the
  // client refused before sending, so these stay the base class, with their status and code.
  return new PlanetScaleError(message, details);
}

// Failures before the request could be written: no connection, or no TLS session to write it on.
// Codes from Node (undici, OpenSSL) and Bun; Deno reports a connect failure only in its message.
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "EPROTO",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "HOSTNAME_MISMATCH",
  "ConnectionRefused",
  "FailedToOpenSocket",
  // undici refused the request as given (a header it will not send, say) before writing it.
  "UND_ERR_NOT_SUPPORTED",
  "UND_ERR_INVALID_ARG",
]);
// CERT_HAS_EXPIRED, CERT_NOT_YET_VALID and the other CERT_ codes are the last prefix's.
const NOT_SENT_CODE_PREFIXES = ["ERR_TLS_", "ERR_SSL_", "UNABLE_TO_", "CERT_"];
// undici's own words for a fetch it refused to start (the fetch spec's blocked ports), a TLS session
// that never came up, a proxy that refused the tunnel (407, 403…), and Deno's connect failures.
const NOT_SENT_MESSAGES =
  /^bad port$|before secure TLS connection was established|^Proxy response \(\d+\) !== 200 when HTTP Tunneling$|client error \(Connect\)/;

function neverSent(error: unknown): { code: string | undefined; notSent: boolean } {
  let code: string | undefined;
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const { code: own, message } = current as { code?: unknown; message?: unknown };
    if (typeof own === "string") {
      code ??= own;
      if (NOT_SENT_CODES.has(own) || NOT_SENT_CODE_PREFIXES.some((prefix) => own.startsWith(prefix))) {
        return { code: own, notSent: true };
      }
    }
    if (typeof message === "string" && NOT_SENT_MESSAGES.test(message)) return { code, notSent: true };
    current = (current as { cause?: unknown }).cause;
  }
  return { code, notSent: false };
}

/** The error as it may be shown: a fetch of the caller's may put anything in its messages. */
export function maskedCause(error: unknown, secrets: readonly string[]): unknown {
  const texts: string[] = [];
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    texts.push(String((current as Error).message), String((current as Error).stack));
    current = (current as { cause?: unknown }).cause;
  }
  if (!secrets.some((secret) => texts.some((text) => text.includes(secret)))) return error;
  return new Error(redactText(String((error as Error)?.message), secrets));
}

export function connectionError(error: unknown, operation: string, secrets: readonly string[] = []): ConnectionError {
  const { code, notSent } = neverSent(error);
  const what = notSent ? "could not connect; nothing was sent" : "the connection failed after the request was sent";
  const detail = code ?? ((error as Error)?.cause as Error | undefined)?.message ?? (error as Error)?.message;
  return new ConnectionError(
    `${operation}: ${what} (${printable(redactText(String(detail ?? "unknown error"), secrets))})`,
    { operation, requestSent: !notSent, outcomeUnknown: !notSent, cause: maskedCause(error, secrets) },
  );
}

/**
 * A call refused at the gate, unsent: a 429's Retry-After holds every call on the rate limit for
 * longer than the client waits for one (`backoff.maxRetryAfterMs`), as the call that met it was told.
 */
export function holdTooLong(operation: string, heldMs: number, longestMs: number): RateLimitError {
  const seconds = Math.ceil(heldMs / 1000);
  return new RateLimitError(
    `${operation} was not sent: the rate limit holds every call on it for another ${seconds} s (as an answer's ` +
      `Retry-After or rate-limit headers said), longer than backoff.maxRetryAfterMs (${longestMs} ms), so it was not waited for`,
    { operation, retryAfterMs: heldMs, outcomeUnknown: false },
  );
}

/**
 * The words a client's call adds to a 429 it does not wait out (past `backoff.maxRetryAfterMs`): why
 * it was not sent again and, when a rate limiter holds the client's calls, that the calls after it
 * are refused until then (holdTooLong), so that the first refusal does not look like a last word.
 */
export function outlastedHold(failure: RateLimitError, longestMs: number, limited: boolean): void {
  const seconds = Math.ceil((failure.retryAfterMs ?? 0) / 1000);
  extendMessage(
    failure,
    `; its Retry-After (${seconds} s) is longer than backoff.maxRetryAfterMs (${longestMs} ms), so it was not sent again` +
      (limited ? ", and every call on this rate limit is refused, unsent, until then" : ""),
  );
}

/** A call the rate limiter failed at the gate (a store of the caller's that threw or rejected): nothing was sent. */
export function limiterFailed(operation: string, reason: unknown): PlanetScaleError {
  const words = reason instanceof Error ? reason.message : String(reason);
  return new PlanetScaleError(`${operation} was not sent: its rate limiter failed (${printable(words)})`, {
    operation,
    outcomeUnknown: false,
    cause: reason,
  });
}

/** What an attempt was when it failed without an answer: its deadline, the caller's signal, and whether it left the gate. */
export interface AttemptState {
  operation: string;
  timeoutMs: number;
  deadline: AbortSignal;
  callerSignal: AbortSignal | undefined;
  /** The joined signal the request was sent with. */
  signal: AbortSignal;
  /** False while the call was still waiting at the rate-limit gate. */
  sent: boolean;
  /** An earlier attempt left the gate: one waiting there now follows a request that went out. */
  sentBefore: boolean;
  secrets: readonly string[];
}

/** Whatever the fetch or the body read threw, as the error that says what happened. */
export function attemptFailure(error: unknown, state: AttemptState): PlanetScaleError {
  if (error instanceof PlanetScaleError) return error;
  return signalFailure(state, "") ?? connectionError(error, state.operation, state.secrets);
}

/**
 * Why a call the gate held never left it: its deadline or the caller's signal ended the wait.
 * Reached only through a client's gate, so that the standalone createRole, which has none, carries
 * none of these words.
 */
export function gateRefusal(error: unknown, state: AttemptState): PlanetScaleError {
  // A hold too long (holdTooLong) met by a call that went out before, for a 429 or a 5xx of its own.
  if (error instanceof RateLimitError && state.sentBefore) {
    error.message = error.message.replace(" was not sent:", " was not sent again:");
  }
  if (error instanceof PlanetScaleError) return error;
  const waiting = ` while waiting at the rate-limit gate; ${state.sentBefore ? "it was not sent again" : "nothing was sent"}`;
  return signalFailure(state, waiting) ?? connectionError(error, state.operation, state.secrets);
}

/** The timeout or the caller's abort that ended the attempt, if one did; `waiting` says where it was. */
function signalFailure(state: AttemptState, waiting: string): PlanetScaleError | undefined {
  const { operation, sent, callerSignal, deadline } = state;
  // Both may have fired by now: the one that fired first is the one the joined signal carries.
  const timedOut = deadline.aborted && (!callerSignal?.aborted || state.signal.reason === deadline.reason);
  if (timedOut) {
    return new TimeoutError(`${operation} timed out after ${state.timeoutMs} ms (timeoutMs)${waiting}`, {
      operation,
      outcomeUnknown: sent,
    });
  }
  if (callerSignal?.aborted) {
    return new AbortError(`${operation} was aborted by the caller's signal${waiting}`, {
      operation,
      outcomeUnknown: sent,
      cause: callerSignal.reason,
    });
  }
  return undefined;
}

export function abortedBeforeSending(operation: string, signal: AbortSignal): AbortError {
  return new AbortError(`${operation} was aborted before it was sent`, { operation, cause: signal.reason });
}

export function abortedWhileWaiting(operation: string, failure: PlanetScaleError, reason: unknown): AbortError {
  return new AbortError(`${operation} was aborted while waiting to retry after: ${failure.message}`, {
    operation,
    outcomeUnknown: failure.outcomeUnknown,
    cause: reason,
  });
}

/** Why a 2xx could not be used, for its message. */
export type Unusable =
  | { kind: "too large"; limit: number }
  | { kind: "broken off"; read: number; cause: unknown }
  | { kind: "not json" }
  | { kind: "not utf-8" }
  | { kind: "wrong shape"; problem: string };

function unusableWords(why: Unusable): string {
  if (why.kind === "too large") return `with a body larger than ${why.limit} bytes, so reading stopped there`;
  if (why.kind === "broken off") return `but the answer broke off after ${why.read} characters`;
  if (why.kind === "not json") return "with a body that is not JSON";
  if (why.kind === "not utf-8") return "with a body that is not UTF-8, as JSON must be";
  return why.problem;
}

/**
 * A 2xx the client cannot use. For an answer that took effect and carried a password, the message
 * says so, and that error.body may hold the only copy of it.
 */
export function unusableAnswer(
  operation: OperationId,
  policy: OperationRule,
  response: Response,
  text: string,
  why: Unusable,
  requestId: string | undefined,
): UnexpectedResponseError {
  const keep = policy.returnsPassword
    ? " It took effect on the server; the raw answer is kept in error.body, which may hold the only copy of the password."
    : "";
  return new UnexpectedResponseError(`${operation} answered ${response.status} ${unusableWords(why)}.${keep}`, {
    operation,
    status: response.status,
    requestId,
    headers: response.headers,
    body: text,
    cause: why.kind === "broken off" ? why.cause : undefined,
  });
}

/** A 2xx the client could not use: the request took effect on the server. */
export function unusableSuccess(error: PlanetScaleError): boolean {
  const status = error.status ?? 0;
  return error instanceof UnexpectedResponseError && status >= 200 && status < 300;
}

/** `reset_default_role` → `resetDefaultRole`: the client method a message can tell the caller to use. */
function methodOf(operation: string): string {
  return operation.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** The call that finds a role by its name on the caller's branch, as a message tells it. */
function listRolesCall(name: unknown): string {
  const q = typeof name === "string" ? `, q: ${JSON.stringify(printable(name))}` : "";
  return `listRoles({ organization, database, branch${q} })`;
}

/** Where the call's role lives, as `organization/database/branch`. */
function whereOf(params: Record<string, unknown>): string {
  return `${String(params.organization)}/${String(params.database)}/${String(params.branch)}`;
}

/**
 * Adds to a create's failure what it means on the server and how to check: a 2xx that could not be
 * used (the role exists; its password may be in error.body), or an outcome left open.
 */
export function explainUnknownCreate(error: PlanetScaleError, params: Record<string, unknown>): PlanetScaleError {
  const where = whereOf(params);
  if (unusableSuccess(error)) {
    const which = typeof params.name === "string" ? `A role named ${JSON.stringify(printable(params.name))}` : "A role";
    const find = listRolesCall(params.name);
    extendMessage(error, ` ${which} now exists on ${where}; if you cannot use it, find it with ${find} and delete it.`);
  } else if (error.outcomeUnknown) {
    extendMessage(
      error,
      `. The outcome is unknown: the role may have been created on ${where} although no usable answer came back, ` +
        `so it was not sent again. Check with ${listRolesCall(params.name)} and delete any role you cannot use.`,
    );
  }
  return error;
}

/** Adds to the failure of a reset whose outcome was left open that the old password may be gone, and what to call. */
export function explainUnknownReset(error: PlanetScaleError, params: Record<string, unknown>): PlanetScaleError {
  if (!error.outcomeUnknown) return error;
  const args =
    typeof params.id === "string" ? "{ organization, database, branch, id }" : "{ organization, database, branch }";
  extendMessage(
    error,
    `. The outcome is unknown: the password on ${whereOf(params)} may have been reset although no usable answer came back, ` +
      `so the old password may already be invalid. Call ${methodOf(String(error.operation))}(${args}) again to get a working one.`,
  );
  return error;
}

/** Where a role lives and who it is, for messages about roles left behind. */
export function describeRole(
  where: { organization: string; database: string; branch: string },
  role: { id?: unknown; name?: unknown },
): string {
  // The name and id come from the server: escaped before they reach a message.
  const name = typeof role.name === "string" && role.name ? `${printable(role.name)} ` : "";
  const id = typeof role.id === "string" ? `(id ${printable(role.id)}) ` : "";
  return `role ${name}${id}on ${whereOf(where)}`;
}

/** What createTemporaryRole's callback came to: what it returned, or what it threw. */
export type CallbackOutcome<T = unknown> = { ok: true; value: T } | { ok: false; error: unknown };

// Beside the errors, as the headers are: the role is still alive, and what the callback made of it
// (a connection string, say) may hold its password, which no inspect mode may show.
const callbackOutcomes = new WeakMap<Error, CallbackOutcome>();

/**
 * createTemporaryRole's role could not be deleted after its callback. The message names the role and
 * how to delete it; `cause` is the delete's error. What the callback came to is kept beside it:
 * `callbackThrew`, and `result` (what it returned) or `callbackError` (what it threw). Both are
 * getters that no inspect mode calls.
 */
export class RoleLeftBehindError extends PlanetScaleError {
  override name = "RoleLeftBehindError";
  /** The callback threw (`callbackError`) rather than returned (`result`). */
  readonly callbackThrew: boolean;
  constructor(message: string, details: ErrorDetails, callback: CallbackOutcome) {
    super(message, details);
    this.callbackThrew = !callback.ok;
    callbackOutcomes.set(this, callback);
  }

  /** What the callback returned; undefined when it threw. */
  get result(): unknown {
    const callback = callbackOutcomes.get(this);
    return callback?.ok ? callback.value : undefined;
  }

  /** What the callback threw; undefined when it returned. */
  get callbackError(): unknown {
    const callback = callbackOutcomes.get(this);
    return callback?.ok === false ? callback.error : undefined;
  }
}

/**
 * The forms of the roles' passwords a message could carry, to mask with redactText: each as it is,
 * and as a connection string URL-encodes it.
 */
export function passwordForms(...roles: ({ password?: string } | undefined)[]): string[] {
  const passwords = roles.map((role) => role?.password).filter((password): password is string => !!password);
  return passwords.flatMap((password) => [password, encodeURIComponent(password)]);
}

/** A role made for the caller that could not be deleted after `callback`: which one, and how to delete it. */
export function leftBehind(
  where: { organization: string; database: string; branch: string },
  role: { id: string; name?: string; password?: string },
  deleteError: unknown,
  callback: CallbackOutcome = { ok: true, value: undefined },
): RoleLeftBehindError {
  const reason = ((deleteError as Error)?.message ?? String(deleteError)).replace(/\.$/, "");
  const id = JSON.stringify(printable(role.id));
  // The callback's words may carry the password of the role still alive (a connection string it
  // could not open, URL-encoded): masked in the message, kept whole in callbackError.
  const password = passwordForms(role);
  const failed = callback.ok ? "" : ((callback.error as Error)?.message ?? String(callback.error));
  const after = callback.ok ? "" : ` (after the callback failed: ${printable(redactText(failed, password))})`;
  if (deleteError instanceof PlanetScaleError && deleteError.outcomeUnknown) {
    return new RoleLeftBehindError(
      `${describeRole(where, role)} may have been left behind: the delete's outcome is unknown (${reason})${after}. ` +
        `Check with getRole({ organization, database, branch, id: ${id} }) and delete it if it is still there.`,
      { operation: "delete_role", outcomeUnknown: true, cause: deleteError },
      callback,
    );
  }
  return new RoleLeftBehindError(
    `${describeRole(where, role)} was left behind: deleting it failed: ${reason}${after}. ` +
      `Delete it with deleteRole({ organization, database, branch, id: ${id} }).`,
    { operation: "delete_role", cause: deleteError },
    callback,
  );
}

/** Recovery could not tell whether the lost create made its role: nothing was deleted nor made again. */
export function recoveryUnchecked(
  original: PlanetScaleError,
  attemptName: string,
  listError: unknown,
): PlanetScaleError {
  extendMessage(
    original,
    `. Recovery could not check whether role ${attemptName} was created (${(listError as Error).message}), so it ` +
      `deleted nothing and did not create again. Look for it with ${listRolesCall(attemptName)} and delete it if ` +
      "it is there: its password was never seen",
  );
  return original;
}

/** Recovery found the lost create's role and could not delete it. */
export function recoveryLeftBehind(
  original: PlanetScaleError,
  where: { organization: string; database: string; branch: string },
  role: { id: string; name?: string },
  deleteError: unknown,
): PlanetScaleError {
  return new PlanetScaleError(
    `create_role's answer was lost (${original.message}); recovery found ${describeRole(where, role)} ` +
      `but could not delete it, so it is left behind with a password nobody has: ${(deleteError as Error).message}`,
    { operation: "create_role", outcomeUnknown: false, cause: deleteError },
  );
}

/** A list whose pages do not add up (a next_page that goes back, nothing new, no end in sight). */
export function badPaging(
  page: number,
  what: string,
  answer: { data: unknown; response: Response; requestId: string | undefined },
): UnexpectedResponseError {
  return new UnexpectedResponseError(`list_roles answered page ${page} ${what}`, {
    operation: "list_roles",
    status: answer.response.status,
    requestId: answer.requestId,
    headers: answer.response.headers,
    // The page as it was read (the answer's own bytes are consumed by the check at the boundary).
    body: JSON.stringify(answer.data),
  });
}
