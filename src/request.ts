// The path every operation takes: check the input, send through openapi-fetch, read the answer
// without losing a byte of it, and apply the retry policy.
import type { Client } from "openapi-fetch";
import {
  AbortError,
  errorFromResponse,
  extendMessage,
  InvalidRequestError,
  NotFoundError,
  PlanetScaleError,
  requestIdOf,
  UnexpectedResponseError,
} from "./errors.ts";
import type { paths } from "./generated/openapi.ts";
import { type OperationId, operations } from "./generated/operations.ts";
import {
  type OperationPolicy,
  operationPolicy,
  parseRetryAfter,
  type RetrySettings,
  retryDelay,
  sleep,
} from "./retry.ts";
import { redactInspect } from "./secrets.ts";
import { startAttempt } from "./transport.ts";
import type { OperationResult, RequestLogEvent, RequestOptions } from "./types.ts";
import { splitParams } from "./validate.ts";

export interface ClientContext {
  raw: Client<paths>;
  timeoutMs: number;
  retry: RetrySettings;
  log: ((event: RequestLogEvent) => void) | undefined;
}

// openapi-fetch types each call by its literal path; here the path comes from the operation
// table, so the call goes through this one untyped signature. Public types stay exact.
type LooseRequest = (
  method: string,
  path: string,
  init: Record<string, unknown>,
) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

export function checkPositive(operation: string, field: string, value: unknown, integer: boolean, min: number): void {
  if (value === undefined) return;
  const ok = typeof value === "number" && (integer ? Number.isSafeInteger(value) : Number.isFinite(value));
  if (!ok || (value as number) < min) {
    const allowed = `${integer ? "an integer" : "a number"} of ${min} or more`;
    throw new InvalidRequestError(`${operation}: ${field} must be ${allowed}; got ${String(value)}`, {
      operation,
      field,
    });
  }
}

function pathOf(request: Request): string {
  const url = new URL(request.url);
  return url.pathname + url.search;
}

/** Reads a body to the end; if the stream breaks, the bytes read so far are not thrown away. */
async function readAll(
  stream: ReadableStream<Uint8Array> | null | undefined,
): Promise<{ text: string; error?: unknown }> {
  if (!stream) return { text: "" };
  const decoder = new TextDecoder();
  let text = "";
  try {
    for await (const chunk of stream as unknown as AsyncIterable<Uint8Array>)
      text += decoder.decode(chunk, { stream: true });
    return { text: text + decoder.decode() };
  } catch (error) {
    return { text: text + decoder.decode(), error };
  }
}

function interpretSuccess(
  operation: OperationId,
  policy: OperationPolicy,
  response: Response,
  text: string,
  readError: unknown,
  requestId: string | undefined,
) {
  const details = { operation, status: response.status, requestId, body: text };
  const keep = policy.returnsPassword
    ? " It took effect on the server; the raw answer is kept in error.body, which may hold the only copy of the password."
    : "";
  if (readError !== undefined) {
    throw new UnexpectedResponseError(
      `${operation} answered ${response.status} but the answer broke off after ${text.length} characters.${keep}`,
      { ...details, cause: readError },
    );
  }
  if (!operations[operation].jsonResponse) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UnexpectedResponseError(
      `${operation} answered ${response.status} with a body that is not JSON.${keep}`,
      details,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UnexpectedResponseError(
      `${operation} answered ${response.status} with JSON that is not an object.${keep}`,
      details,
    );
  }
  if (policy.returnsPassword) {
    const record = parsed as Record<string, unknown>;
    const missing = ["username", "password"].filter((key) => typeof record[key] !== "string" || record[key] === "");
    if (missing.length > 0) {
      throw new UnexpectedResponseError(
        `${operation} answered ${response.status} without ${missing.join(" and ")}.${keep}`,
        details,
      );
    }
  }
  return redactInspect(parsed);
}

async function attemptOnce(
  ctx: ClientContext,
  operation: OperationId,
  split: ReturnType<typeof splitParams>,
  attemptNumber: number,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  const facts = operations[operation];
  const policy: OperationPolicy = operationPolicy[operation];
  const attempt = startAttempt(timeoutMs, signal);
  const started = performance.now();
  let path = facts.path as string;
  const log = (fields: Partial<RequestLogEvent>) =>
    ctx.log?.({
      operation,
      method: facts.method.toUpperCase(),
      path,
      attempt: attemptNumber,
      durationMs: Math.round(performance.now() - started),
      ...fields,
    });
  try {
    let result: Awaited<ReturnType<LooseRequest>>;
    try {
      result = await (ctx.raw.request as unknown as LooseRequest)(facts.method, facts.path, {
        params: { path: split.path, query: split.query },
        body: split.body,
        // "stream" hands us 2xx bodies unread, so a broken answer can still be kept whole.
        parseAs: "stream",
        signal: attempt.signal,
        // The request's real path is only needed for the log; without one, skip the middleware pass.
        middleware: ctx.log
          ? [
              {
                onRequest: ({ request }: { request: Request }) => {
                  path = pathOf(request);
                },
              },
            ]
          : [],
      });
    } catch (error) {
      const failure = error instanceof PlanetScaleError ? error : attempt.classify(error, operation);
      log({ error: failure.name });
      throw failure;
    }
    const { response } = result;
    const requestId = requestIdOf(response.headers);
    // Only present keys reach the log event, so a missing id is absent rather than undefined.
    const answered = { status: response.status, ...(requestId ? { requestId } : {}) };
    if (response.ok) {
      const { text, error } = await readAll(result.data as ReadableStream<Uint8Array> | undefined);
      // A deadline or abort that cut the body short is a timeout or an abort (retried where
      // harmless), unless the answer carried a one-time password: then what was read is kept.
      if (error !== undefined && attempt.signal.aborted && !policy.returnsPassword) {
        const failure = attempt.classify(error, operation);
        log({ ...answered, error: failure.name });
        throw failure;
      }
      log(answered);
      return interpretSuccess(operation, policy, response, text, error, requestId);
    }
    const text =
      typeof result.error === "string" ? result.error : result.error === undefined ? "" : JSON.stringify(result.error);
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
    log(answered);
    throw errorFromResponse(operation, response, text, { retryAfterMs });
  } finally {
    attempt.done();
  }
}

/** Adds to an error that left the outcome open what it means for this operation and how to check. */
function explainUnknownOutcome(error: PlanetScaleError, policy: OperationPolicy, params: Record<string, unknown>) {
  if (!error.outcomeUnknown || policy.repeatable) return error;
  const where = `${String(params.organization)}/${String(params.database)}/${String(params.branch)}`;
  const byName = typeof params.name === "string" ? `, q: ${JSON.stringify(params.name)}` : "";
  extendMessage(
    error,
    `. The outcome is unknown: the role may have been created on ${where} although no usable answer came back, ` +
      `so it was not sent again. Check with listRoles({ organization, database, branch${byName} }) and delete any role you cannot use.`,
  );
  return error;
}

export async function callOperation<Id extends OperationId>(
  ctx: ClientContext,
  operation: Id,
  params: unknown,
  options: RequestOptions = {},
): Promise<OperationResult<Id>> {
  const split = splitParams(operation, params);
  if (typeof options !== "object" || options === null) {
    throw new InvalidRequestError(`${operation}: options must be an object`, { operation, field: "options" });
  }
  checkPositive(operation, "timeoutMs", options.timeoutMs, false, 1);
  checkPositive(operation, "maxRetries", options.maxRetries, true, 0);
  const policy: OperationPolicy = operationPolicy[operation];
  const settings: RetrySettings = { ...ctx.retry, maxRetries: options.maxRetries ?? ctx.retry.maxRetries };
  const timeoutMs = options.timeoutMs ?? ctx.timeoutMs;
  const { signal } = options;
  if (signal?.aborted) {
    throw new AbortError(`${operation} was aborted before it was sent`, { operation, cause: signal.reason });
  }
  let earlierOutcomeUnknown = false;
  for (let retry = 1; ; retry++) {
    let failure: PlanetScaleError;
    try {
      return (await attemptOnce(ctx, operation, split, retry, timeoutMs, signal)) as OperationResult<Id>;
    } catch (error) {
      if (!(error instanceof PlanetScaleError)) throw error;
      failure = error;
    }
    if (failure instanceof NotFoundError && earlierOutcomeUnknown && policy.notFoundOnRepeatMeansDone) {
      return undefined as OperationResult<Id>;
    }
    earlierOutcomeUnknown ||= failure.outcomeUnknown;
    const delay = retryDelay(failure, policy, retry, settings);
    if (delay === undefined) throw explainUnknownOutcome(failure, policy, params as Record<string, unknown>);
    try {
      await sleep(delay, signal);
    } catch (reason) {
      throw new AbortError(`${operation} was aborted while waiting to retry after: ${failure.message}`, {
        operation,
        outcomeUnknown: failure.outcomeUnknown,
        cause: reason,
      });
    }
  }
}
