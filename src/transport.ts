// Security decisions made once, where every request passes: which addresses may receive a token,
// which credentials go with it, and how much of an answer is read, for how long.

import { InvalidRequestError } from "./errors.ts";

// Plain http may carry a token only to this machine: names that cannot resolve elsewhere.
// "x.localhost" is left out: it goes through DNS like any other name. The hostname comes from the
// URL parser, which writes any host that ends in a number as a dotted IPv4 address (each part at
// most 255) or refuses it: the pattern needs no range check.
function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
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
  // A bare "?" or "#" leaves search and hash empty, yet every path would still go after it: the
  // href shows both, bare or not.
  if (parsed.href.includes("?") || parsed.href.includes("#")) {
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

/** What the guarded fetch saw of one exchange: the request's URL and the answer's body, as far as it was read. */
export interface Exchange {
  url: string;
  text: string;
  /** Rejects when the attempt's deadline passes or the caller aborts (clock.ts's `Deadline`). */
  expired?: Promise<never>;
  /** Why reading stopped before the end: BodyTooLargeError, the signal's reason, or a broken stream. */
  readError?: unknown;
}

export type RecordingFetch = (input: Request | Outgoing, record?: Exchange) => Promise<Response>;

/** An operation's request: the init openapi-fetch built for it, and its URL. */
export interface Outgoing extends RequestInit {
  url: string;
  headers: Headers;
  signal: AbortSignal;
}

/**
 * openapi-fetch's `Request` for operations: it keeps the URL and init as given, so that fetch sends
 * the JSON body as the string it is. A Request made first would hand fetch its body as a stream to
 * pipe, and be copied again inside fetch: undici spends about 100 µs a call on the two
 * (bench:overhead, "raw fetch" against "bare openapi-fetch"). Called with `new`, it returns the
 * object, which is fetch's init too: fetch reads only the fields it knows.
 */
export function Outgoing(url: string, init: RequestInit & { headers: Headers; signal: AbortSignal }): Outgoing {
  return { ...init, url };
}

/**
 * The one fetch every request of a client passes through, the operations' and `raw`'s alike: it
 * refuses an unsafe URL and any other credentials than the client's, and reads the answer's body
 * here, within the request's signal and MAX_BODY_BYTES. An operation passes `record` and reads the
 * body from it (the Response it gets back has been read); `raw` gets a Response over what was read.
 */
export function guardedFetch(inner: typeof fetch, authorization: string, base: URL): RecordingFetch {
  // `base` is the client's baseUrl as assertSafeUrl parsed it. A URL that starts with its origin and
  // a slash has its scheme, host and port, and no user info; any other (a raw call given another
  // baseUrl) is refused.
  const { origin } = base;
  return async (input, record) => {
    // An operation's request (given with its record) is made by Outgoing and sent as its URL and init.
    // A raw call's may be a subclass (its own Request class, or a middleware's) whose getters answer
    // `url` or `headers` with what fetch never reads: what is checked and sent is a Request made of it.
    const request = record ? input : new Request(input as Request);
    refuseUnsafe(request, origin, authorization);
    // Stryker disable next-line ObjectLiteral,StringLiteral: a raw call's own exchange has both fields written (url here, text after the read) before anything reads them, and is dropped after
    const exchange: Exchange = record ?? { url: "", text: "" };
    exchange.url = request.url;
    const expired = exchange.expired ?? whenAborted(request.signal);
    // Called bare: workerd's fetch refuses any `this` but the global one; and a fetch of the
    // caller's may hand back a Response without a promise. Raced with the deadline, so that a fetch
    // that ignores its signal still ends then.
    const fetching = Promise.resolve(record ? inner(request.url, request) : inner(request as Request));
    const response = platformResponse(await heardBefore(fetching, expired));
    if (!response) throw new TypeError("fetch returned no usable Response (a network error, or not a Response at all)");
    const read = await readBody(response.body, expired);
    exchange.text = read.text;
    exchange.readError = read.error;
    if (response.body === null || (record && response.ok)) return response;
    // openapi-fetch reads an error's body itself: it gets a fresh one (empty for an operation, which
    // reads the recorded text instead).
    return new Response(record ? null : read.text, response);
  };
}

/**
 * The fetch's answer as the platform's Response. Another library's (the undici package's,
 * node-fetch's) becomes one of its status, headers and body, a web stream or a Node one (Response
 * takes any async iterable of bytes): turned away once sent, a create's password would be lost.
 */
function platformResponse(answer: unknown): Response | undefined {
  if (answer instanceof Response && answer.type !== "error") return answer;
  // A network error (Response.error()) has status 0, which no Response can be made with.
  const foreign = answer as Response;
  if (typeof foreign?.status !== "number") return undefined;
  try {
    // Its status, statusText and headers are read as a ResponseInit's. A 204 may not have a body,
    // not even an empty stream (205 and 304 answer no request sent here).
    return new Response(foreign.status === 204 ? null : foreign.body, foreign);
  } catch {
    return undefined;
  }
}

/** What a request must not do, refused before it is sent: go where the token may not, carry other credentials, follow a redirect. */
function refuseUnsafe(request: Request | Outgoing, origin: string, authorization: string): void {
  const { url } = request;
  // What follows a "#" never reaches the server: the request would go to another endpoint than asked.
  if (!url.startsWith(`${origin}/`) || url.includes("#")) {
    throw new InvalidRequestError(
      `request URL must be on ${origin}, the client's baseUrl, without a fragment (#…): credentials are never sent to another address. Nothing was sent.`,
      { field: "request URL" },
    );
  }
  if (request.headers.get("authorization") !== authorization) {
    throw new InvalidRequestError(
      "request headers must not replace Authorization: the credentials come from the client's serviceToken or accessToken",
      { field: "headers.Authorization" },
    );
  }
  if (request.redirect !== "manual") {
    // A redirect followed inside fetch would send the token again, wherever it points.
    throw new InvalidRequestError(
      `redirect must be "manual": redirects are never followed; got "${request.redirect}"`,
      {
        field: "redirect",
      },
    );
  }
}

/** Answers are a few kB (a page of 100 roles ~150 kB); reading stops here, whatever the server sends. */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

// Their names and messages are for a debugger: answers.ts reads only their class and limit, and
// an instance reaches no caller (a raw call's exchange is dropped).
export class BodyTooLargeError extends Error {
  // Stryker disable next-line StringLiteral: read by no code (above)
  override name = "BodyTooLargeError";
  constructor(readonly limit: number) {
    // Stryker disable next-line StringLiteral: read by no code (above)
    super(`the answer was larger than ${limit} bytes, so reading stopped there`);
  }
}

/** Why a whole body was not taken as it came: its bytes are not UTF-8, which JSON must be (RFC 8259). */
export const NOT_UTF8 = new Error("the answer's bytes are not UTF-8");

/** A raw call's stand-in for an attempt's deadline: rejects when its request's signal aborts. */
function whenAborted(signal: AbortSignal): Promise<never> {
  const aborted = new Promise<never>((_, reject) => {
    // Stryker disable ObjectLiteral,BooleanLiteral: a signal aborts once; { once: true } only drops the listener from a signal that is done, and that dies with its request
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  // Stryker restore ObjectLiteral,BooleanLiteral
  // Nothing else may be listening: a fetch that throws at once leaves it behind, to reject later.
  aborted.catch(() => {});
  return aborted;
}

/**
 * The fetch's answer, or the deadline's reason a turn of the event loop after it fires: a fetch that
 * answered in the same moment (its caller aborting as the answer came) is still heard.
 */
function heardBefore<T>(fetching: Promise<T>, expired: Promise<never>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    fetching.then(resolve, reject);
    // Rejecting once the fetch has settled changes nothing.
    expired.catch((reason: unknown) => setTimeout(reject, 0, reason));
  });
}

/**
 * Reads a body to the end, up to MAX_BODY_BYTES. When `aborted` rejects (the deadline or the caller) the stream is cancelled from
 * here: undici links our signal to the body only through a WeakRef to its Request, which a garbage
 * collection can cut once the headers are in (nodejs/node#55428). A broken read keeps what arrived.
 */
export async function readBody(
  stream: ReadableStream<Uint8Array> | null | undefined,
  aborted: Promise<never>,
  limit = MAX_BODY_BYTES,
): Promise<{ text: string; error?: unknown }> {
  if (!stream) return { text: "" };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) return decoded(chunks);
      bytes += value.byteLength;
      if (bytes > limit) {
        chunks.push(value.subarray(0, value.byteLength - (bytes - limit)));
        reader.cancel().catch(() => {});
        return decoded(chunks, new BodyTooLargeError(limit));
      }
      chunks.push(value);
    }
  } catch (error) {
    reader.cancel(error).catch(() => {});
    return decoded(chunks, error);
  }
}

// Decoding without `stream: true` keeps no state between calls, so one decoder of each serves all.
const strict = new TextDecoder("utf-8", { fatal: true });
const lenient = new TextDecoder();

/** The text of what was read; a body cut short (`error`) may end inside a character, so only a whole one must be UTF-8. */
function decoded(chunks: Uint8Array[], error?: unknown): { text: string; error?: unknown } {
  const body = joined(chunks);
  try {
    return { text: strict.decode(body), error };
  } catch {
    return { text: lenient.decode(body), error: error ?? NOT_UTF8 };
  }
}

function joined(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const all = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    all.set(chunk, at);
    at += chunk.byteLength;
  }
  return all;
}
