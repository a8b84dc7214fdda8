// Security decisions made once, where every request passes: which addresses may receive a token,
// what a failed fetch means, and how a per-attempt deadline and the caller's signal end an attempt.
import { AbortError, ConnectionError, InvalidRequestError, type PlanetScaleError, TimeoutError } from "./errors.ts";

const LOOPBACK_HOSTS = new Set(["localhost", "[::1]", "::1"]);

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname) || hostname.endsWith(".localhost");
}

/** Tokens go over https, or over plain http to this machine only (tests, local mocks). */
export function assertSafeUrl(url: string, field = "baseUrl"): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidRequestError(`${field} must be an absolute http(s) URL, got ${JSON.stringify(url)}`, { field });
  }
  if (parsed.protocol === "https:") return parsed;
  if (parsed.protocol === "http:" && isLoopback(parsed.hostname)) return parsed;
  if (parsed.protocol === "http:") {
    throw new InvalidRequestError(
      `${field} uses plain http to ${parsed.host}; credentials are only sent over https, or over http to loopback (localhost, 127.0.0.1, [::1])`,
      { field },
    );
  }
  throw new InvalidRequestError(`${field} must use https (or http to loopback), got ${parsed.protocol}`, { field });
}

/** Wraps the caller's fetch so that even `client.raw` cannot send a token somewhere unsafe. */
export function guardedFetch(inner: typeof fetch): typeof fetch {
  return (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    assertSafeUrl(url, "request URL");
    return inner(input, init);
  };
}

// Errors undici reports when no connection was made: the server cannot have seen the request.
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export interface Attempt {
  signal: AbortSignal;
  /** Turns whatever the fetch threw into the error that says what happened. */
  classify(error: unknown, operation: string): PlanetScaleError;
  /** Clears the deadline and the listener on the caller's signal. */
  done(): void;
}

const TIMED_OUT = Symbol("timed out");

/** One attempt's signal: aborted by its own deadline or by the caller, whichever comes first. */
export function startAttempt(timeoutMs: number, callerSignal: AbortSignal | undefined): Attempt {
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(callerSignal?.reason);
  callerSignal?.addEventListener("abort", onCallerAbort, { once: true });
  const timer = setTimeout(() => controller.abort(TIMED_OUT), timeoutMs);
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      callerSignal?.removeEventListener("abort", onCallerAbort);
    },
    classify(error, operation) {
      if (controller.signal.aborted && controller.signal.reason === TIMED_OUT) {
        return new TimeoutError(`${operation} timed out after ${timeoutMs} ms (timeoutMs)`, {
          operation,
          outcomeUnknown: true,
        });
      }
      if (controller.signal.aborted) {
        return new AbortError(`${operation} was aborted by the caller's signal`, {
          operation,
          outcomeUnknown: true,
          cause: callerSignal?.reason,
        });
      }
      return connectionError(error, operation);
    },
  };
}

export function connectionError(error: unknown, operation: string): ConnectionError {
  const code = errorCode(error);
  const requestSent = !(code && NOT_SENT_CODES.has(code));
  const what = requestSent ? "the connection failed after the request was sent" : "could not connect; nothing was sent";
  return new ConnectionError(`${operation}: ${what} (${code ?? (error as Error)?.message ?? "unknown error"})`, {
    operation,
    requestSent,
    outcomeUnknown: requestSent,
    cause: error,
  });
}
