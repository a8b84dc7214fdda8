// The retry policy, as data a reviewer can check against what repeating each operation does, and
// the one function that reads it: whether and when a call is sent again. The loop that acts on the
// decision is in request.ts; it decides nothing itself.
import {
  AbortError,
  ConnectionError,
  NotFoundError,
  type PlanetScaleError,
  RateLimitError,
  ServerError,
  TimeoutError,
  UnexpectedResponseError,
  unusableSuccess,
} from "./errors.ts";
import type { OperationId } from "./generated/operations.ts";

export interface OperationPolicy {
  /** May the request be sent again after it may have reached the server (5xx, reset, timeout)? */
  repeatable: boolean;
  /** Why, in terms of what a repeat does on PlanetScale's side. */
  because: string;
  /** The answer carries a password that can never be read again. */
  returnsPassword?: true;
  /** A 404 on a repeat after an attempt whose outcome was unknown means that attempt did it. */
  notFoundOnRepeatMeansDone?: true;
}

/** What the pipeline reads of a row: the rule without its reason. */
export type OperationRule = Omit<OperationPolicy, "because">;

/**
 * Every operation sends again when the connection was never established (nothing reached the
 * server) and after a 429 (the server refused it unseen). Beyond that, only where a repeat is
 * harmless. Each row's reason is beside it in `operationReasons`: the pipeline reads only these, so
 * that a bundle that calls the API carries the words only if it imports `operationPolicy`.
 */
export const operationRules = {
  create_role: { repeatable: false, returnsPassword: true },
  list_roles: { repeatable: true },
  get_role: { repeatable: true },
  get_default_role: { repeatable: true },
  update_role: { repeatable: true },
  delete_role: { repeatable: true, notFoundOnRepeatMeansDone: true },
  renew_role: { repeatable: true },
  reset_role: { repeatable: true, returnsPassword: true },
  reset_default_role: { repeatable: true, returnsPassword: true },
  reassign_role_objects: { repeatable: true },
} as const satisfies Record<OperationId, OperationRule>;

/** Why each row of `operationRules` says what it says, in terms of what a repeat does on PlanetScale's side. */
const operationReasons = {
  create_role: "each create mints another role; a repeat after a lost answer leaves a role whose password nobody has",
  list_roles: "reads only",
  get_role: "reads only",
  get_default_role: "reads only",
  update_role: "PATCH sets the same name and settings again; the end state is the same",
  delete_role: "the role is gone either way; a repeat after a lost answer sees 404, which counts as done",
  renew_role: "renewing again only moves the expiry to the same point, from now",
  reset_role: "each reset replaces the password; only the last answer's password works, and that is the one returned",
  reset_default_role: "as reset_role: the last password returned is the one that works",
  reassign_role_objects: "objects already owned by the successor stay with it",
} as const satisfies Record<OperationId, string>;

type Policy = { readonly [Id in OperationId]: (typeof operationRules)[Id] & { readonly because: string } };

function withReasons(): Policy {
  const rows = Object.entries(operationRules).map(([id, rule]) => [
    id,
    { ...rule, because: operationReasons[id as OperationId] },
  ]);
  return Object.fromEntries(rows) as Policy;
}

/** The retry policy, one row per operation: each rule with its reason. */
export const operationPolicy: Policy = /* @__PURE__ */ withReasons();

export interface RetrySettings {
  maxRetries: number;
  /** The first backoff step; each later one doubles, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A Retry-After longer than this is not waited for: the RateLimitError carries it instead. */
  maxRetryAfterMs: number;
  random: () => number;
}

export const defaultRetrySettings: RetrySettings = {
  maxRetries: 2,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
  random: Math.random,
};

/** Exponential backoff with full jitter on the upper half, so that a crowd of callers spreads out. */
export function backoffMs(retry: number, settings: RetrySettings): number {
  const ceiling = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (retry - 1));
  return Math.round(ceiling / 2 + (settings.random() * ceiling) / 2);
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY = "(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)";
const MONTH = `(?<month>${MONTHS.join("|")})`;
const TIME = "(?<hour>\\d{2}):(?<minute>\\d{2}):(?<second>\\d{2})";
// RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms a recipient must accept.
const HTTP_DATE_FORMS = [
  new RegExp(`^${DAY}, (?<day>\\d{2}) ${MONTH} (?<year>\\d{4}) ${TIME} GMT$`),
  new RegExp(`^(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day, (?<day>\\d{2})-${MONTH}-(?<yy>\\d{2}) ${TIME} GMT$`),
  new RegExp(`^${DAY} ${MONTH} (?<day>[ \\d]\\d) ${TIME} (?<year>\\d{4})$`),
];

/** A two-digit year more than 50 years ahead is the most recent past year with those digits. */
function fullYear(twoDigits: number, now: number): number {
  const thisYear = new Date(now).getUTCFullYear();
  const year = thisYear - (thisYear % 100) + twoDigits;
  return year > thisYear + 50 ? year - 100 : year;
}

/** An HTTP-date in any of its three forms, in ms since the epoch; undefined for 31 Nov or 25:00. */
export function parseHttpDate(value: string, now: number): number | undefined {
  const date = HTTP_DATE_FORMS.map((form) => form.exec(value)?.groups).find((groups) => groups !== undefined);
  if (!date) return undefined;
  const year = date.year ? Number(date.year) : fullYear(Number(date.yy), now);
  const [day, hour, minute, second] = [date.day, date.hour, date.minute, date.second].map(Number) as number[];
  // A leap second (:60, which the grammar allows) is read as the second after :59.
  const leap = second === 60 ? 1 : 0;
  const at = Date.UTC(year, MONTHS.indexOf(date.month as string), day, hour, minute, (second ?? 0) - leap);
  // Date.UTC rolls 31 Nov over to 1 Dec; reading the fields back catches it.
  const back = new Date(at);
  const exact =
    back.getUTCDate() === day && back.getUTCHours() === hour && back.getUTCMinutes() === minute && (second ?? 61) <= 60;
  return exact ? at + leap * 1000 : undefined;
}

/**
 * Retry-After as delay-seconds (digits only) or an HTTP-date (RFC 9110 §10.2.3). Anything else
 * ("1.5", "-1", an ISO date) is unreadable: undefined, so that the backoff applies, never a wait of 0.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  // Past 12 digits (31,000 years) no wait is meant, and 400 would read as Infinity, a hold for
  // ever: unreadable, so the backoff applies.
  const seconds = /^0*(\d{1,12})$/.exec(trimmed);
  if (seconds) return Number(seconds[1]) * 1000;
  const date = parseHttpDate(trimmed, now);
  return date === undefined ? undefined : Math.max(0, date - now);
}

/** How long a 429 holds the client's gate: the server's Retry-After, else the backoff. */
export function holdAfter(error: RateLimitError, attempt: number, settings: RetrySettings): number {
  // A Retry-After of no time (0, a date past) says nothing of when: sending at once would only meet
  // the limit again, and spend the call's retries back to back.
  return error.retryAfterMs || backoffMs(attempt, settings);
}

/** What the call has been through, for the decision after its latest attempt. */
export interface CallHistory {
  /** The attempt that just failed (1 for the first). */
  attempt: number;
  /** An attempt has left the gate (a request went out). */
  sent?: boolean;
  /**
   * The attempts whose 429 came while the call waited its turn: the attempt waited at the gate, and
   * the budget let the client's calls through up to that hold. The gate counts them, at most twice
   * maxRetries (request.ts, heldAtGate).
   */
  turns: number;
  /** An earlier attempt ended with the outcome unknown (it may have taken effect). */
  earlierOutcomeUnknown: boolean;
  /** The client has a rate limiter, which holds every call for a 429's wait. */
  gated: boolean;
  /** How long the client's gate holds every call for the latest 429 (request.ts, heldAtGate): the wait to tell. */
  heldMs?: number;
  /** The caller opted in to recovering an ambiguous create, and it has not been used yet. */
  mayRecover: boolean;
}

export type Decision =
  /** Send again after `delayMs`; `atGate`: the gate already holds the call that long. */
  | { kind: "retry"; delayMs: number; atGate?: true }
  /** Delete what the lost create made, if it made anything, then create again under a new name. */
  | { kind: "recover" }
  /** The repeat's 404 is the answer that says the earlier attempt did it. */
  | { kind: "done" }
  | { kind: "fail" };

/** A create that may have made a role nobody can use: no answer, or a 2xx that could not be read. */
function ambiguousCreate(error: PlanetScaleError): boolean {
  // A redirect is an answer, not a lost one: its message says how to check, and nothing is recovered.
  if (error instanceof UnexpectedResponseError) return unusableSuccess(error);
  return error.outcomeUnknown && !(error instanceof AbortError);
}

/** A 429 whose Retry-After is longer than the call waits for one: it ends the call, not sent again. */
export function outlasts(error: RateLimitError, settings: RetrySettings): boolean {
  return (error.retryAfterMs ?? 0) > settings.maxRetryAfterMs;
}

/**
 * The whole decision whether and when to send a call again, after any failed attempt. Every
 * operation sends again when nothing reached the server and after a 429 (the server refused it
 * unseen); beyond that only where the policy says a repeat is harmless, or where the caller opted in
 * to recovering an ambiguous create. `maxRetries` bounds every kind of repeat but the one recovery.
 * A 429 met while the call waited its turn (the budget was letting the client's calls through, and
 * ran out before this one: a small bucket's opening overshoots, a limit lowered) spends no retry, up
 * to twice maxRetries of them: a server that lets nothing through between holds still gets no more
 * than maxRetries from a call, and a caller who asked for none (0) gets none.
 */
export function decide(
  error: PlanetScaleError,
  policy: OperationRule,
  history: CallHistory,
  settings: RetrySettings,
): Decision {
  const { attempt } = history;
  if (error instanceof NotFoundError && history.earlierOutcomeUnknown && policy.notFoundOnRepeatMeansDone) {
    return { kind: "done" };
  }
  if (history.mayRecover && !policy.repeatable && ambiguousCreate(error)) return { kind: "recover" };
  if (attempt - history.turns > settings.maxRetries) return { kind: "fail" };
  if (error instanceof RateLimitError) {
    if (outlasts(error, settings)) return { kind: "fail" };
    if (history.gated) return { kind: "retry", delayMs: history.heldMs as number, atGate: true };
    if (!error.retryAfterMs) return { kind: "retry", delayMs: backoffMs(attempt, settings) };
    // Waiting a little past Retry-After keeps callers told the same second from arriving together.
    const jitter = Math.round(settings.random() * Math.min(error.retryAfterMs / 4, 1_000));
    return { kind: "retry", delayMs: error.retryAfterMs + jitter };
  }
  // A deadline met at the gate by a call that never left it: another attempt would only wait there
  // again (waiting spends no retry, and is no reason for one). One waiting out its own 429 goes on.
  if (error instanceof TimeoutError && !error.outcomeUnknown && !history.sent) return { kind: "fail" };
  if (error instanceof ConnectionError && !error.requestSent) {
    return { kind: "retry", delayMs: backoffMs(attempt, settings) };
  }
  const mayHaveReachedServer =
    error instanceof ServerError || error instanceof ConnectionError || error instanceof TimeoutError;
  if (mayHaveReachedServer && policy.repeatable) return { kind: "retry", delayMs: backoffMs(attempt, settings) };
  return { kind: "fail" };
}
