// The path every operation takes: check the input, send through openapi-fetch, read the answer
// without losing a byte of it (nor reading without end), and apply the retry policy.
import type { Client } from "openapi-fetch";
import type { Clock } from "./clock.ts";
import {
  AbortError,
  errorFromResponse,
  extendMessage,
  NotFoundError,
  PlanetScaleError,
  RateLimitError,
  requestIdOf,
  UnexpectedResponseError,
} from "./errors.ts";
import { enterGate, type Gate } from "./gate.ts";
import type { paths } from "./generated/openapi.ts";
import { type OperationId, operations } from "./generated/operations.ts";
import {
  backoffMs,
  type OperationPolicy,
  operationPolicy,
  parseRetryAfter,
  type RetrySettings,
  retryDelay,
} from "./retry.ts";
import { redactInspect } from "./secrets.ts";
import { type Attempt, BodyTooLargeError, readBody, startAttempt } from "./transport.ts";
import type {
  OperationResult,
  RequestLogEvent,
  RequestOptions,
  ResponseInfo,
  ResponsePromise,
  RetryEvent,
} from "./types.ts";
import { checkRequestOptions, type SplitParams, splitParams } from "./validate.ts";

export interface ClientContext {
  raw: Client<paths>;
  /** The caller's fetch; each attempt calls it through its own wrapper. */
  fetch: typeof fetch;
  timeoutMs: number;
  retry: RetrySettings;
  log: ((event: RequestLogEvent) => void) | undefined;
  /** The credentials in the forms a server might echo them, masked in anything shown. */
  secrets: readonly string[];
  /** The client's one gate: concurrency cap and rate limiter, shared by all its calls. */
  gate: Gate | undefined;
  onRetry: ((event: RetryEvent) => void) | undefined;
  clock: Clock;
}

// openapi-fetch types each call by its literal path; here the path comes from the operation
// table, so the call goes through this one untyped signature. Public types stay exact.
type LooseRequest = (
  method: string,
  path: string,
  init: Record<string, unknown>,
) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

/** The path and query actually requested, for the log only. */
function requestedPath(template: string, split: SplitParams): string {
  const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(split.path[name] ?? ""));
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(split.query)) query.set(name, String(value));
  const search = query.toString();
  return search ? `${path}?${search}` : path;
}

/**
 * The fetch one attempt uses. Error bodies are read here, within the cap and the attempt's
 * deadline: openapi-fetch would read them itself, without either.
 */
function attemptFetch(ctx: ClientContext, attempt: Attempt): typeof fetch {
  return async (input, init) => {
    const response = await ctx.fetch(input, init);
    if (response.ok || response.body === null) return response;
    const { text } = await readBody(response.body, attempt.signal);
    return new Response(text, response);
  };
}

/** Which of the credentials an answer that should carry them lacks (absent, not a string, or empty). */
function missingCredentials(record: Record<string, unknown>): string[] {
  return ["username", "password"].filter((key) => typeof record[key] !== "string" || record[key] === "");
}

/** A 2xx read to the end: its result, or an UnexpectedResponseError that keeps the raw body. */
function interpretSuccess(
  operation: OperationId,
  policy: OperationPolicy,
  response: Response,
  text: string,
  readError: unknown,
  requestId: string | undefined,
) {
  let parsed: unknown;
  if (readError === undefined) {
    if (!operations[operation].jsonResponse) return undefined;
    try {
      parsed = JSON.parse(text);
    } catch {}
    const usable = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed);
    if (usable && (!policy.returnsPassword || missingCredentials(parsed as Record<string, unknown>).length === 0)) {
      return redactInspect(parsed as object);
    }
  }
  throw unusableAnswer(operation, policy, response, text, readError, parsed, requestId);
}

/** Says what was wrong with a 2xx; for an answer that carried a password, that error.body may hold it. */
function unusableAnswer(
  operation: OperationId,
  policy: OperationPolicy,
  response: Response,
  text: string,
  readError: unknown,
  parsed: unknown,
  requestId: string | undefined,
): UnexpectedResponseError {
  const keep = policy.returnsPassword
    ? " It took effect on the server; the raw answer is kept in error.body, which may hold the only copy of the password."
    : "";
  let what: string;
  if (readError instanceof BodyTooLargeError) what = `with a body ${readError.message}`;
  else if (readError !== undefined) what = `but the answer broke off after ${text.length} characters`;
  else if (parsed === undefined) what = "with a body that is not JSON";
  else if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
    what = "with JSON that is not an object";
  else {
    what = `without ${missingCredentials(parsed as Record<string, unknown>).join(" and ")}`;
  }
  return new UnexpectedResponseError(`${operation} answered ${response.status} ${what}.${keep}`, {
    operation,
    status: response.status,
    requestId,
    headers: response.headers,
    body: text,
    cause: readError instanceof BodyTooLargeError ? undefined : readError,
  });
}

async function attemptOnce(
  ctx: ClientContext,
  operation: OperationId,
  split: SplitParams,
  attemptNumber: number,
  call: {
    timeoutMs: number;
    signal: AbortSignal | undefined;
    headers: RequestOptions["headers"];
    settings: RetrySettings;
  },
): Promise<ResponseInfo<unknown>> {
  const { timeoutMs, signal } = call;
  const facts = operations[operation];
  const policy: OperationPolicy = operationPolicy[operation];
  const attempt = startAttempt(timeoutMs, signal, ctx.secrets);
  const started = ctx.log ? performance.now() : 0;
  const log = (fields: Partial<RequestLogEvent>) => {
    if (!ctx.log) return;
    quietly(ctx.log, {
      operation,
      method: facts.method.toUpperCase(),
      path: requestedPath(facts.path, split),
      attempt: attemptNumber,
      durationMs: Math.round(performance.now() - started),
      ...fields,
    });
  };
  try {
    if (ctx.gate) {
      const entering = enterGate(ctx.gate, attempt.signal);
      if (entering)
        await entering.catch((reason: unknown) => Promise.reject(attempt.classify(reason, operation, false)));
    }
    try {
      return await exchange(ctx, operation, split, attempt, policy, log, call.headers);
    } catch (error) {
      // The hold starts before this call gives up its place, so that no call waiting for the place
      // slips through ahead of it.
      if (error instanceof RateLimitError) {
        ctx.gate?.limiter?.limited(error.retryAfterMs ?? backoffMs(attemptNumber, call.settings));
      }
      throw error;
    } finally {
      ctx.gate?.concurrency.leave();
    }
  } finally {
    attempt.done();
  }
}

/** One request and its answer, read within the attempt's deadline and the body cap. */
async function exchange(
  ctx: ClientContext,
  operation: OperationId,
  split: SplitParams,
  attempt: Attempt,
  policy: OperationPolicy,
  log: (fields: Partial<RequestLogEvent>) => void,
  headers: RequestOptions["headers"],
): Promise<ResponseInfo<unknown>> {
  const facts = operations[operation];
  let result: Awaited<ReturnType<LooseRequest>>;
  try {
    result = await (ctx.raw.request as unknown as LooseRequest)(facts.method, facts.path, {
      params: { path: split.path, query: split.query },
      body: split.body,
      // "stream" hands us 2xx bodies unread, so a broken answer can still be kept whole.
      parseAs: "stream",
      signal: attempt.signal,
      fetch: attemptFetch(ctx, attempt),
      headers,
    });
  } catch (error) {
    const failure = error instanceof PlanetScaleError ? error : attempt.classify(error, operation);
    log({ error: failure.name });
    throw failure;
  }
  const { response } = result;
  if (response.status !== 429) ctx.gate?.limiter?.accepted();
  const requestId = requestIdOf(response.headers, ctx.secrets);
  // Only present keys reach the log event, so a missing id is absent rather than undefined.
  const answered = { status: response.status, ...(requestId ? { requestId } : {}) };
  if (response.ok) {
    const { text, error } = await readBody(result.data as ReadableStream<Uint8Array> | undefined, attempt.signal);
    // A deadline or abort that cut the body short is a timeout or an abort (retried where
    // harmless), unless the answer carried a one-time password: then what was read is kept.
    if (error !== undefined && attempt.signal.aborted && !policy.returnsPassword) {
      const failure = attempt.classify(error, operation);
      log({ ...answered, error: failure.name });
      throw failure;
    }
    log(answered);
    return { data: interpretSuccess(operation, policy, response, text, error, requestId), response, requestId };
  }
  // The error body was read within the deadline by attemptFetch; a deadline that cut it short
  // still leaves the status, which is what decides.
  const text =
    typeof result.error === "string" ? result.error : result.error === undefined ? "" : JSON.stringify(result.error);
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  log(answered);
  throw errorFromResponse(operation, response, text, { retryAfterMs, secrets: ctx.secrets });
}

/** `reset_default_role` → `resetDefaultRole`: the client method a message can tell the caller to use. */
function methodOf(operation: string): string {
  return operation.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

/** Adds to an error that left the outcome open what it means for this operation and how to check. */
function explainUnknownOutcome(error: PlanetScaleError, policy: OperationPolicy, params: Record<string, unknown>) {
  if (!error.outcomeUnknown) return error;
  const where = `${String(params.organization)}/${String(params.database)}/${String(params.branch)}`;
  if (policy.returnsPassword && policy.repeatable) {
    const args =
      typeof params.id === "string" ? "{ organization, database, branch, id }" : "{ organization, database, branch }";
    extendMessage(
      error,
      `. The outcome is unknown: the password on ${where} may have been reset although no usable answer came back, ` +
        `so the old password may already be invalid. Call ${methodOf(String(error.operation))}(${args}) again to get a working one.`,
    );
  } else if (!policy.repeatable) {
    const byName = typeof params.name === "string" ? `, q: ${JSON.stringify(params.name)}` : "";
    extendMessage(
      error,
      `. The outcome is unknown: the role may have been created on ${where} although no usable answer came back, ` +
        `so it was not sent again. Check with listRoles({ organization, database, branch${byName} }) and delete any role you cannot use.`,
    );
  }
  return error;
}

/** One operation, with the retry policy; resolves to its result and the answer it came in. */
export async function callWithResponse<Id extends OperationId>(
  ctx: ClientContext,
  operation: Id,
  params: unknown,
  options?: RequestOptions,
): Promise<ResponseInfo<OperationResult<Id>>> {
  const split = splitParams(operation, params);
  const checked = checkRequestOptions(operation, options);
  const { signal, timeoutMs = ctx.timeoutMs, maxRetries = ctx.retry.maxRetries, headers } = checked;
  const policy: OperationPolicy = operationPolicy[operation];
  const settings: RetrySettings = maxRetries === ctx.retry.maxRetries ? ctx.retry : { ...ctx.retry, maxRetries };
  if (signal?.aborted) {
    throw new AbortError(`${operation} was aborted before it was sent`, { operation, cause: signal.reason });
  }
  let earlierOutcomeUnknown = false;
  for (let attempt = 1; ; attempt++) {
    let failure: PlanetScaleError;
    try {
      const answer = await attemptOnce(ctx, operation, split, attempt, { timeoutMs, signal, headers, settings });
      return answer as ResponseInfo<OperationResult<Id>>;
    } catch (error) {
      if (!(error instanceof PlanetScaleError)) throw error;
      failure = error;
    }
    if (failure instanceof NotFoundError && earlierOutcomeUnknown && policy.notFoundOnRepeatMeansDone) {
      // The repeat's 404 is the answer that says it is done.
      const response = new Response(null, { status: 404, headers: failure.headers });
      return { data: undefined as OperationResult<Id>, response, requestId: failure.requestId };
    }
    earlierOutcomeUnknown ||= failure.outcomeUnknown;
    if (failure instanceof RateLimitError && ctx.gate?.limiter) {
      // The gate already holds every call of the client, this one included, for the server's wait.
      const hold = failure.retryAfterMs ?? backoffMs(attempt, settings);
      if (attempt <= settings.maxRetries && hold <= settings.maxRetryAfterMs) {
        quietly(ctx.onRetry, { operation, attempt, error: failure, delayMs: hold });
        continue;
      }
      throw failure;
    }
    const delay = retryDelay(failure, policy, attempt, settings);
    if (delay === undefined) throw explainUnknownOutcome(failure, policy, params as Record<string, unknown>);
    quietly(ctx.onRetry, { operation, attempt, error: failure, delayMs: delay });
    try {
      await ctx.clock.sleep(delay, signal);
    } catch (reason) {
      throw new AbortError(`${operation} was aborted while waiting to retry after: ${failure.message}`, {
        operation,
        outcomeUnknown: failure.outcomeUnknown,
        cause: reason,
      });
    }
  }
}

/**
 * Calls a hook of the caller's (logger, onRetry). Whatever it does, throwing or returning a promise
 * that rejects, must not change the call's outcome nor surface as an unhandled rejection.
 */
export function quietly<T>(hook: ((value: T) => unknown) | undefined, value: T): void {
  if (!hook) return;
  try {
    const returned = hook(value);
    if (returned instanceof Promise) returned.catch(() => {});
  } catch {}
}

export async function callOperation<Id extends OperationId>(
  ctx: ClientContext,
  operation: Id,
  params: unknown,
  options?: RequestOptions,
): Promise<OperationResult<Id>> {
  return (await callWithResponse(ctx, operation, params, options)).data;
}

/**
 * The promise a Roles method returns: the result, with the answer behind `withResponse()`. The
 * call starts at once; asking for the response does not send it again.
 */
export function responsePromise<T>(answer: Promise<ResponseInfo<T>>): ResponsePromise<T> {
  const data = answer.then((info) => info.data) as ResponsePromise<T>;
  data.withResponse = () => {
    // The caller handles the failure through this promise; the data promise must not report it twice.
    data.catch(() => {});
    return answer;
  };
  return data;
}
