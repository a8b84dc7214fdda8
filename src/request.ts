// The pipeline every operation takes (ARCHITECTURE.md): check the input (validate.ts), pass the
// gate (gate.ts), make one attempt through openapi-fetch and the guarded fetch (transport.ts), read
// the answer (answers.ts), and let retry.ts decide what follows. This file only runs the stages in
// order; each rule lives in the stage that owns it.
import type { Client } from "openapi-fetch";
import { readAnswer } from "./answers.ts";
import { attemptDeadline, type Clock } from "./clock.ts";
import {
  type AttemptState,
  abortedBeforeSending,
  abortedWhileWaiting,
  attemptFailure,
  outlastedHold,
  PlanetScaleError,
  RateLimitError,
} from "./errors.ts";
import type { Gate } from "./gate.ts";
import type { paths } from "./generated/openapi.ts";
import type { Operation, OperationId } from "./generated/operations.ts";
import {
  type CallHistory,
  decide,
  holdAfter,
  type OperationRule,
  operationRules,
  outlasts,
  type RetrySettings,
} from "./retry.ts";
import { redactInspect, withoutHeaders } from "./secrets.ts";
import { type Exchange, Outgoing, type RecordingFetch } from "./transport.ts";
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
  /** The one guarded fetch, which `raw` uses too. */
  fetch: RecordingFetch;
  /** Where the client's URLs start, to log paths without the host. */
  baseUrl: string;
  timeoutMs: number;
  retry: RetrySettings;
  log: ((event: RequestLogEvent) => void) | undefined;
  /** The credentials in the forms a server might echo them, masked in anything shown. */
  secrets: readonly string[];
  /**
   * The client's one gate: concurrency cap and rate limiter, shared by all its calls. None for the
   * standalone createRole, whose one call has nothing to share it with.
   */
  gate: ContextGate | undefined;
  onRetry: ((event: RetryEvent) => void) | undefined;
  clock: Clock;
}

/**
 * A client's gate, with the words for a call whose deadline or abort ended its wait there
 * (errors.ts's gateRefusal): reached through the gate, so that a context without one carries none.
 */
export interface ContextGate extends Gate, HoldsSeen {
  refusal(reason: unknown, state: AttemptState): PlanetScaleError;
}

/** What a client's gate hears of answers, and what it tells of the holds they began (heldAtGate). */
interface HoldsSeen {
  /** The gate's `enter`, which notes on the call whether this attempt waited there. */
  enter: Gate["enter"];
  /** An answer other than 429: the limiter learns from it. */
  accepted(headers: Headers): void;
  /**
   * A 429 met by `call`, whose attempts `history` counts: the limiter holds every call for it, and
   * `history.heldMs` says how long. It counts a turn when the call was waiting its turn: this
   * attempt waited at the gate, and the budget was letting the client's calls through (some were
   * accepted between the hold before and the one this 429 began or came in), only to run out
   * before this one (retry.ts's `decide` reads the turns).
   */
  held(failure: RateLimitError, history: Attempts, call: Call): void;
}

/**
 * What a 429 does at a client's gate: its limiter holds every call until the hold has passed; and a
 * hold past maxRetryAfterMs, which ends the call, is said in its error. Reached through the gate
 * only, so that the standalone createRole, which has none, carries none of it.
 */
export function heldAtGate(gate: Gate, clock: Clock): HoldsSeen {
  const { limiter } = gate;
  let [holdEnds, acceptedSince, acceptedBefore] = [0, 0, 0];
  return {
    enter(signal, timeLeftMs, call) {
      const entering = gate.enter(signal, timeLeftMs, call);
      // A call sent at once, the gate open, waited no turn: its 429 is its own.
      if (call) (call as Call).waited = entering !== undefined;
      return entering;
    },
    accepted(headers) {
      acceptedSince++;
      limiter?.accepted(headers);
    },
    held(failure, history, call) {
      const { settings } = call;
      const holdMs = holdAfter(failure, history.attempt, settings);
      history.heldMs = holdMs;
      // The other calls in flight when a hold began answer 429 during it: the same hold, the same budget.
      if (clock.now() >= holdEnds) [acceptedBefore, acceptedSince] = [acceptedSince, 0];
      holdEnds = Math.max(holdEnds, clock.now() + holdMs);
      limiter?.limited(holdMs, failure.headers);
      if (outlasts(failure, settings)) outlastedHold(failure, settings.maxRetryAfterMs, limiter !== undefined);
      // Up to twice maxRetries: a caller who asked for no retries (0) gets none.
      if (acceptedBefore > 0 && limiter && call.waited && history.turns < 2 * settings.maxRetries) history.turns++;
    },
  };
}

/** One call, its input checked: what every attempt of it sends and under which rules. */
interface Call {
  operation: OperationId;
  /** What the spec says about it (generated). */
  facts: Operation;
  policy: OperationRule;
  params: Record<string, unknown>;
  split: SplitParams;
  signal: AbortSignal | undefined;
  timeoutMs: number;
  headers: RequestOptions["headers"];
  settings: RetrySettings;
  /** This attempt waited at the client's gate (heldAtGate writes it). */
  waited?: boolean;
}

/** What recovery does for a create whose outcome is unknown: clean up, and say what to send next. */
export type Recover = (failure: PlanetScaleError) => Promise<object>;

/**
 * What a caller adds for its operation: `recover`, the opt-in recovery of an ambiguous create; and
 * `explain`, which adds to a failure what it means on the server and how to check (errors.ts has one
 * for creates and one for resets). Given by the caller rather than looked up, so that a bundle
 * carries only the words for the operations it calls.
 */
export interface Steps {
  recover?: Recover | undefined;
  explain?: ((failure: PlanetScaleError, params: Record<string, unknown>) => PlanetScaleError) | undefined;
}

// openapi-fetch types each call by its literal path; here the path comes from the operation table,
// so the call goes through this one signature. The public types stay exact (types.ts).
type Request = (method: string, path: string, init: Record<string, unknown>) => Promise<{ response: Response }>;

/** Stage 1: the input, checked before anything is sent. */
function prepare(ctx: ClientContext, facts: Operation, params: unknown, options: unknown): Call {
  const operation = facts.id;
  const split = splitParams(facts, params);
  const {
    signal,
    timeoutMs = ctx.timeoutMs,
    maxRetries = ctx.retry.maxRetries,
    headers,
  } = checkRequestOptions(operation, options);
  if (signal?.aborted) throw abortedBeforeSending(operation, signal);
  const settings = maxRetries === ctx.retry.maxRetries ? ctx.retry : { ...ctx.retry, maxRetries };
  const policy: OperationRule = operationRules[operation];
  const given = params as Record<string, unknown>;
  return { operation, facts, policy, params: given, split, signal, timeoutMs, headers, settings };
}

/**
 * Which attempt this is, whether an earlier one left the gate (its message says "not sent again"),
 * and how many of its 429s came while it waited its turn (CallHistory).
 */
type Attempts = { attempt: number; sent?: boolean; turns: number; heldMs?: number };

/** Stage 2: through the gate, then one exchange, within the attempt's deadline. */
async function attemptOnce(ctx: ClientContext, call: Call, history: Attempts): Promise<ResponseInfo<unknown>> {
  const { operation, timeoutMs } = call;
  // A call waiting out a 429 of its own at the gate waits that hold beside its timeoutMs, as it
  // would asleep without a gate.
  const ms = timeoutMs + (history.heldMs ?? 0);
  history.heldMs = 0;
  const deadline = attemptDeadline(ctx.clock, ms, call.signal);
  const state: AttemptState = {
    operation,
    timeoutMs,
    deadline: deadline.timeout,
    callerSignal: call.signal,
    signal: deadline.signal,
    sent: false,
    sentBefore: !!history.sent,
    secrets: ctx.secrets,
  };
  try {
    // A call that met its deadline or abort at the gate was never sent, and says so.
    const deadlineAt = ctx.clock.now() + ms;
    const { gate } = ctx;
    const entering = gate?.enter(deadline.signal, () => deadlineAt - ctx.clock.now(), call);
    if (gate && entering) await entering.catch((reason: unknown) => Promise.reject(gate.refusal(reason, state)));
    state.sent = history.sent = true;
    return await exchangeOnce(ctx, call, history, state, deadline.expired);
  } finally {
    deadline.clear();
  }
}

/** Stages 3 and 4: one request, its answer read and checked; then the gate's place is given back. */
async function exchangeOnce(
  ctx: ClientContext,
  call: Call,
  history: Attempts,
  state: AttemptState,
  expired: Promise<never>,
) {
  const { signal } = state;
  const exchange: Exchange = { url: "", text: "", expired };
  const started = ctx.log ? ctx.clock.now() : 0;
  const log = (fields: Partial<RequestLogEvent>) => logAttempt(ctx, call, exchange, history.attempt, started, fields);
  let status: number | undefined;
  try {
    const { response } = await send(ctx, call, signal, exchange).catch((error: unknown) => {
      throw attemptFailure(error, state);
    });
    status = response.status;
    if (status !== 429) ctx.gate?.accepted(response.headers);
    // A deadline or abort that cut a 2xx body short is a timeout or an abort (retried where
    // harmless), unless the answer carried a one-time password: then what was read is kept. An error
    // answer cut short still has its status, which is what decides.
    if (response.ok && exchange.readError !== undefined && signal.aborted && !call.policy.returnsPassword) {
      throw attemptFailure(exchange.readError, state);
    }
    const answer = readAnswer(call.facts, call.policy, response, exchange, ctx.secrets, ctx.clock.now());
    log({ status: response.status, ...(answer.requestId ? { requestId: answer.requestId } : {}) });
    return { data: answer.data, response, requestId: answer.requestId };
  } catch (error) {
    const failure = error as PlanetScaleError;
    const requestId = failure.requestId ? { requestId: failure.requestId } : {};
    log({ ...(status === undefined ? {} : { status }), ...requestId, error: failure.name });
    // The hold starts before this call gives up its place, so that no call waiting for the place
    // slips through ahead of it.
    if (failure instanceof RateLimitError) ctx.gate?.held(failure, history, call);
    throw failure;
  } finally {
    ctx.gate?.concurrency.leave();
  }
}

function send(ctx: ClientContext, call: Call, signal: AbortSignal, exchange: Exchange) {
  const { facts } = call;
  return (ctx.raw.request as Request)(facts.method, facts.path, {
    params: { path: call.split.path, query: call.split.query },
    body: call.split.body,
    // The guarded fetch has read the body already; openapi-fetch must not read it again.
    parseAs: "stream",
    Request: Outgoing,
    signal,
    headers: call.headers,
    fetch: (request: Outgoing) => ctx.fetch(request, exchange),
  });
}

function logAttempt(
  ctx: ClientContext,
  call: Call,
  exchange: Exchange,
  attempt: number,
  started: number,
  fields: Partial<RequestLogEvent>,
): void {
  if (!ctx.log) return;
  const { facts } = call;
  // The URL as sent, less the client's base (every operation's URL is built on it): path and query,
  // never the host; the path template when the attempt never reached fetch.
  const path = exchange.url.slice(ctx.baseUrl.length) || facts.path;
  const method = facts.method.toUpperCase();
  const durationMs = Math.round(ctx.clock.now() - started);
  quietly(ctx.log, { operation: call.operation, method, path, attempt, durationMs, ...fields });
}

/**
 * Stage 5 runs here: each failure goes to `decide`, and the loop does what it says. The operation
 * comes as its generated facts (`create_role`…), so that a bundle carries only the operations it calls.
 */
export async function callWithResponse<Op extends Operation, Id extends OperationId = Op["id"]>(
  ctx: ClientContext,
  facts: Op,
  params: unknown,
  options?: unknown,
  { recover, explain }: Steps = {},
): Promise<ResponseInfo<OperationResult<Id>>> {
  const call = prepare(ctx, facts, params, options);
  const { operation } = call;
  const history: CallHistory & Attempts = {
    attempt: 0,
    sent: false,
    turns: 0,
    earlierOutcomeUnknown: false,
    gated: ctx.gate?.limiter !== undefined,
    mayRecover: !!recover,
  };
  for (;;) {
    history.attempt++;
    const failure = await attemptOnce(ctx, call, history).catch(ownFailure);
    if (!(failure instanceof PlanetScaleError)) return failure as ResponseInfo<OperationResult<Id>>;
    const decision = decide(failure, call.policy, history, call.settings);
    history.earlierOutcomeUnknown ||= failure.outcomeUnknown;
    if (decision.kind === "done") return notFoundMeansDone(failure) as ResponseInfo<OperationResult<Id>>;
    if (decision.kind === "fail") throw finalFailure(failure, history.earlierOutcomeUnknown, call, explain);
    if (decision.kind === "recover") {
      history.mayRecover = false;
      call.params = (await (recover as Recover)(failure)) as Record<string, unknown>;
      call.split = splitParams(facts, call.params);
      continue;
    }
    quietly(ctx.onRetry, { operation, attempt: history.attempt, error: failure, delayMs: decision.delayMs });
    if (decision.atGate) continue;
    await ctx.clock.sleep(decision.delayMs, call.signal).catch((reason: unknown) => {
      throw finalFailure(abortedWhileWaiting(operation, failure, reason), history.earlierOutcomeUnknown, call, explain);
    });
  }
}

/** A failure of the package's own words, for decide; anything else (a bug, a caller's hook) is not a failure to weigh. */
function ownFailure(error: unknown): PlanetScaleError {
  if (error instanceof PlanetScaleError) return error;
  throw error;
}

/**
 * The failure a call ends with, in the words its caller gave: open when an earlier attempt may have
 * taken effect, whatever the last one said (a reset left open, then refused or aborted).
 */
function finalFailure(failure: PlanetScaleError, earlierUnknown: boolean, call: Call, explain: Steps["explain"]) {
  if (earlierUnknown) failure.outcomeUnknown = true;
  return explain ? explain(failure, call.params) : failure;
}

function notFoundMeansDone(failure: PlanetScaleError): ResponseInfo<undefined> {
  const response = new Response(null, { status: 404, headers: failure.headers });
  return { data: undefined, response, requestId: failure.requestId };
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

export async function callOperation<Op extends Operation>(
  ctx: ClientContext,
  facts: Op,
  params: unknown,
  options?: unknown,
): Promise<OperationResult<Op["id"]>> {
  return (await callWithResponse(ctx, facts, params, options)).data;
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
    return answer.then((info) => redactInspect(info, withoutHeaders));
  };
  return data;
}
