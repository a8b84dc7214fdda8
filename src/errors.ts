// The whole error hierarchy, and the one function that maps an HTTP answer to its class.
import { operations } from "./generated/operations.ts";
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

export class PlanetScaleError extends Error {
  override name = "PlanetScaleError";
  readonly operation: string | undefined;
  readonly status: number | undefined;
  readonly code: string | undefined;
  readonly apiMessage: string | undefined;
  readonly requestId: string | undefined;
  /** The request may have taken effect on the server; see the message for how to check. */
  outcomeUnknown: boolean;

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
  readonly field: string | undefined;
  constructor(message: string, details: ErrorDetails & { field?: string } = {}) {
    super(message, details);
    this.field = details.field;
  }
}

export class AuthenticationError extends PlanetScaleError {
  override name = "AuthenticationError";
}

export class PermissionDeniedError extends PlanetScaleError {
  override name = "PermissionDeniedError";
  /** Service-token accesses of which the operation needs at least one, from the spec. */
  readonly serviceTokenAccesses: readonly string[];
  /** OAuth scopes, per resource level, of which the operation needs at least one. */
  readonly oauthScopes: Readonly<Record<string, readonly string[]>>;
  constructor(message: string, details: ErrorDetails = {}) {
    const needs = needsOf(details.operation);
    super(`${message}${needs.text}`, details);
    this.serviceTokenAccesses = needs.serviceTokenAccesses;
    this.oauthScopes = needs.oauthScopes;
  }
}

export class NotFoundError extends PlanetScaleError {
  override name = "NotFoundError";
}

export class RateLimitError extends PlanetScaleError {
  override name = "RateLimitError";
  /** How long the server asked us to wait, when it said so. */
  readonly retryAfterMs: number | undefined;
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
  readonly requestSent: boolean;
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

function needsOf(operation: string | undefined) {
  const facts =
    operation && Object.hasOwn(operations, operation) ? operations[operation as keyof typeof operations] : undefined;
  const serviceTokenAccesses: readonly string[] = facts?.serviceTokenAccesses ?? [];
  const oauthScopes: Readonly<Record<string, readonly string[]>> = facts?.oauthScopes ?? {};
  if (!facts) return { serviceTokenAccesses, oauthScopes, text: "" };
  const scopes = Object.entries(oauthScopes).map(([level, list]) => `${level}: ${list.join(", ")}`);
  const text =
    `. ${operation} needs a service token with one of these accesses: ${serviceTokenAccesses.join(", ")}` +
    `; or an OAuth token with one of these scopes (${scopes.join("; ")})`;
  return { serviceTokenAccesses, oauthScopes, text };
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
  extra: { retryAfterMs?: number | undefined; secrets?: readonly string[] } = {},
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
  if (status === 403) return new PermissionDeniedError(message, details);
  if (status === 404) return new NotFoundError(message, details);
  if (status === 429) return new RateLimitError(message, { ...details, retryAfterMs: extra.retryAfterMs });
  // A 5xx may come after the server acted (a proxy timing out, a crash after the write).
  if (status >= 500) return new ServerError(message, { ...details, outcomeUnknown: true });
  if (status >= 300 && status < 400) {
    const location = printable(response.headers.get("location") ?? "nowhere");
    return new UnexpectedResponseError(
      `${operation} was redirected (${status}) to ${location}; redirects are not followed, so credentials are never sent to another address`,
      { ...details, body: text },
    );
  }
  // 400, 409, 422…: the API refused the request as sent. InvalidRequestError is kept for what the
  // client refused before sending, so these stay the base class, with their status and code.
  return new PlanetScaleError(message, details);
}
