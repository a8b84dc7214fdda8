// Security decisions made once, where every request passes: which addresses may receive a token,
// what a failed fetch means, how a deadline and the caller's signal end an attempt, and how much of
// an answer is read.

import { TIMER_LIMIT_MS } from "./clock.ts";
import { AbortError, ConnectionError, InvalidRequestError, type PlanetScaleError, TimeoutError } from "./errors.ts";
import { printable, redactText } from "./secrets.ts";

// Plain http may carry a token only to this machine: names that cannot resolve elsewhere.
// "x.localhost" is left out: it goes through DNS like any other name.
function isLoopback(hostname: string): boolean {
  if (hostname === "localhost" || hostname === "[::1]") return true;
  const octets = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname);
  return octets?.slice(1).every((octet) => Number(octet) <= 255) ?? false;
}

/** Tokens go over https, or over plain http to this machine only (tests, local mocks). */
export function assertSafeUrl(url: string, field = "baseUrl"): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidRequestError(`${field} must be an absolute http(s) URL, got ${JSON.stringify(url)}`, { field });
  }
  if (parsed.username !== "" || parsed.password !== "") {
    // The URL itself is not repeated: its user info may be a password.
    throw new InvalidRequestError(
      `${field} must not carry user info (user:password@); credentials go in serviceToken or accessToken`,
      { field },
    );
  }
  if (parsed.search !== "" || parsed.hash !== "") {
    // Every path would be appended before them and then swallowed by the query or fragment.
    throw new InvalidRequestError(`${field} must not have a query (?…) or a fragment (#…)`, { field });
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

/**
 * Wraps the caller's fetch so that even `client.raw` cannot send a token somewhere unsafe, nor
 * send other credentials than the client's.
 */
export function guardedFetch(inner: typeof fetch, authorization: string): typeof fetch {
  return (input, init) => {
    const request = input instanceof Request ? input : undefined;
    assertSafeUrl(request ? request.url : String(input), "request URL");
    const sent = new Headers(init?.headers ?? request?.headers).get("authorization");
    if (sent !== authorization) {
      throw new InvalidRequestError(
        "request headers must not replace Authorization: the credentials come from the client's serviceToken or accessToken",
        { field: "headers.Authorization" },
      );
    }
    return inner(input, init);
  };
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
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "HOSTNAME_MISMATCH",
  "ConnectionRefused",
  "FailedToOpenSocket",
  // undici refused the request as given (a header it will not send, say) before writing it.
  "UND_ERR_NOT_SUPPORTED",
  "UND_ERR_INVALID_ARG",
]);
const NOT_SENT_CODE_PREFIXES = ["ERR_TLS_", "ERR_SSL_", "UNABLE_TO_", "CERT_"];
// undici's own words for a fetch it refused to start (the fetch spec's blocked ports), a TLS session
// that never came up, and Deno's connect failures.
const NOT_SENT_MESSAGES = /^bad port$|before secure TLS connection was established|client error \(Connect\)/;

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
function maskedCause(error: unknown, secrets: readonly string[]): unknown {
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
    {
      operation,
      requestSent: !notSent,
      outcomeUnknown: !notSent,
      cause: maskedCause(error, secrets),
    },
  );
}

/** Answers are a few kB (a page of 100 roles ~150 kB); reading stops here, whatever the server sends. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

export class BodyTooLargeError extends Error {
  override name = "BodyTooLargeError";
  constructor(readonly limit: number) {
    super(`the answer was larger than ${limit} bytes, so reading stopped there`);
  }
}

// One promise per signal that settles when it aborts: a body read races it instead of adding a
// listener of its own, so that any number of reads may share a signal.
const abortedPromises = new WeakMap<AbortSignal, Promise<never>>();

function whenAborted(signal: AbortSignal): Promise<never> {
  let aborted = abortedPromises.get(signal);
  if (!aborted) {
    aborted = new Promise<never>((_, reject) => {
      if (signal.aborted) reject(signal.reason);
      else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    aborted.catch(() => {});
    abortedPromises.set(signal, aborted);
  }
  return aborted;
}

/**
 * Reads a body to the end, up to MAX_BODY_BYTES. When `signal` fires the stream is cancelled from
 * here: undici links our signal to the body only through a WeakRef to its Request, which a garbage
 * collection can cut once the headers are in (nodejs/node#55428). A broken read keeps what arrived.
 */
export async function readBody(
  stream: ReadableStream<Uint8Array> | null | undefined,
  signal: AbortSignal,
  limit = MAX_BODY_BYTES,
): Promise<{ text: string; error?: unknown }> {
  if (!stream) return { text: "" };
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  const aborted = whenAborted(signal);
  let text = "";
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) return { text: text + decoder.decode() };
      bytes += value.byteLength;
      if (bytes > limit) {
        text += decoder.decode(value.subarray(0, value.byteLength - (bytes - limit)));
        reader.cancel().catch(() => {});
        return { text, error: new BodyTooLargeError(limit) };
      }
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    reader.cancel(error).catch(() => {});
    return { text: text + decoder.decode(), error };
  }
}

// Deadlines are shared by the attempts that start within the same few milliseconds: making an
// AbortSignal costs more than the rest of our per-call work (Node makes every signal transferable),
// and calls made one after another mostly fall in the same window. A deadline may so fall up to
// DEADLINE_GRAIN_MS late, never early. Its timer is unref'd, so it never keeps a process alive;
// the map holds its signal (a timer would keep only a weak reference to it) until it fires or,
// once no attempt uses it, until the next deadline is made.
const DEADLINE_GRAIN_MS = 8;

interface Deadline {
  readonly signal: AbortSignal;
  readonly timer: ReturnType<typeof setTimeout>;
  attempts: number;
}

const deadlines = new Map<number, Deadline>();

function unref(timer: ReturnType<typeof setTimeout>): void {
  if (typeof timer === "object" && typeof timer.unref === "function") timer.unref();
  else (globalThis as { Deno?: { unrefTimer?(id: unknown): void } }).Deno?.unrefTimer?.(timer);
}

function takeDeadline(timeoutMs: number): Deadline {
  const now = Date.now();
  const at = Math.ceil((now + timeoutMs) / DEADLINE_GRAIN_MS) * DEADLINE_GRAIN_MS;
  let deadline = deadlines.get(at);
  if (!deadline) {
    for (const [idleAt, idle] of deadlines) {
      if (idle.attempts === 0) {
        clearTimeout(idle.timer);
        deadlines.delete(idleAt);
      }
    }
    const controller = new AbortController();
    const fire = () => {
      deadlines.delete(at);
      controller.abort(new DOMException("The attempt's deadline passed", "TimeoutError"));
    };
    // Rounding up to the grain must not push a wait past what a timer can hold.
    const timer = setTimeout(fire, Math.min(at - now, TIMER_LIMIT_MS));
    unref(timer);
    deadline = { signal: controller.signal, timer, attempts: 0 };
    deadlines.set(at, deadline);
  }
  deadline.attempts++;
  return deadline;
}

/** The shared deadlines open now, and how many of their timers would keep the process alive (tests). */
export function openDeadlines(): { open: number; holdingTheProcess: number } {
  let holding = 0;
  for (const { timer } of deadlines.values()) {
    if (typeof timer === "object" && timer.hasRef?.() !== false) holding++;
  }
  return { open: deadlines.size, holdingTheProcess: holding };
}

export interface Attempt {
  /** Fires at the attempt's deadline or when the caller aborts. */
  signal: AbortSignal;
  /**
   * Turns whatever the fetch or the body read threw into the error that says what happened;
   * `sent` is false for a call that was still waiting at the gate.
   */
  classify(error: unknown, operation: string, sent?: boolean): PlanetScaleError;
  /** The attempt is over: its share of the deadline is given back. */
  done(): void;
}

/**
 * One attempt's signal: its own deadline, joined with the caller's signal. AbortSignal.any links
 * the two without a listener on the caller's signal, so any number of calls may share one.
 */
export function startAttempt(
  timeoutMs: number,
  callerSignal: AbortSignal | undefined,
  secrets: readonly string[] = [],
): Attempt {
  const shared = takeDeadline(timeoutMs);
  const deadline = shared.signal;
  const signal = callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline;
  return {
    signal,
    done() {
      shared.attempts--;
    },
    classify(error, operation, sent = true) {
      const waiting = sent ? "" : " while waiting at the rate-limit gate; nothing was sent";
      // Both may have fired by now: the one that fired first is the one the joined signal carries.
      const timedOut = deadline.aborted && (!callerSignal?.aborted || signal.reason === deadline.reason);
      if (timedOut) {
        return new TimeoutError(`${operation} timed out after ${timeoutMs} ms (timeoutMs)${waiting}`, {
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
      return connectionError(error, operation, secrets);
    },
  };
}
