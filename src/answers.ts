// The one boundary every answer crosses: a non-2xx becomes its error class, and a 2xx is checked
// against the spec's schema for its operation (generated) before anyone reads a field of it.
// Unknown fields and enum values the spec does not list pass through untouched: PlanetScale adds
// them before the spec catches up (`pscale_managed`).
import { errorFromResponse, type PlanetScaleError, requestIdOf, type Unusable, unusableAnswer } from "./errors.ts";
import type { Operation } from "./generated/operations.ts";
import { type OperationRule, parseRetryAfter } from "./retry.ts";
import { type FieldSchema, schemaProblem } from "./schema.ts";
import { redactInspect } from "./secrets.ts";
import { BodyTooLargeError, type Exchange, NOT_UTF8 } from "./transport.ts";

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") {
    if (Number.isSafeInteger(value)) return "an integer";
    return Number.isInteger(value) ? "an integer too large to be exact" : "a number";
  }
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** What is wrong with an answer, in words ("with id that is an integer, not a string"); undefined when it fits. */
export function answerProblem(schema: FieldSchema, value: unknown): string | undefined {
  const problem = schemaProblem(schema, value, "", false);
  if (!problem) return undefined;
  if (problem.kind === "missing") return `without ${problem.names.join(" and ")}`;
  return `with ${problem.at || "JSON"} that is ${typeName(problem.value)}, not ${problem.expected}`;
}

/** A 2xx read to its end: the result, checked against its schema, or why it cannot be used. */
function successOf(facts: Operation, policy: OperationRule, exchange: Exchange): { data: unknown } | { why: Unusable } {
  const { text, readError } = exchange;
  if (readError instanceof BodyTooLargeError) return { why: { kind: "too large", limit: readError.limit } };
  if (readError === NOT_UTF8) return { why: { kind: "not utf-8" } };
  if (readError !== undefined) return { why: { kind: "broken off", read: text.length, cause: readError } };
  const schema: FieldSchema | null = facts.response;
  if (schema === null) return { data: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { why: { kind: "not json" } };
  }
  const problem = answerProblem(schema, parsed) ?? credentialsProblem(policy, parsed, text);
  return problem ? { why: { kind: "wrong shape", problem } } : { data: redactInspect(parsed as object) };
}

const CREDENTIALS = ["username", "password"];

/**
 * An answer that should carry a one-time password must carry it, and the username it goes with:
 * the spec types them as strings, and an empty one is as lost as an absent one. Given twice, one
 * would be lost unseen: JSON.parse keeps the last, and a password may not match its username.
 */
function credentialsProblem(policy: OperationRule, parsed: unknown, text: string): string | undefined {
  if (!policy.returnsPassword || typeof parsed !== "object" || parsed === null) return undefined;
  const twice = credentialGivenTwice(text);
  if (twice) return `with ${twice} given twice`;
  const record = parsed as Record<string, unknown>;
  const missing = CREDENTIALS.filter((key) => typeof record[key] !== "string" || !record[key]);
  return missing.length > 0 ? `without ${missing.join(" and ")}` : undefined;
}

// The answer's tokens that matter here: a string (a key when a colon follows) and a bracket. The
// text parsed as JSON, so a search for the next token never starts inside a string, and each string
// is read once: a pattern that had to retry at every quote took quadratic time on a run of `\"`.
const TOKEN = /"((?:[^"\\]|\\.)*)"(\s*:)?|([{[])|[}\]]/g;

/**
 * "password" or "username" when the answer names it twice as its own key (JSON.parse would keep the
 * last, the other unseen). A key's escapes (`"pass\u0077ord"`) are what JSON.parse reads, so each is
 * decoded before it is compared; keys of nested objects are fields of their own.
 */
function credentialGivenTwice(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (const [, raw, colon, open] of text.matchAll(TOKEN)) {
    if (raw === undefined) depth += open ? 1 : -1;
    else if (depth === 1 && colon) {
      const key: string = raw.includes("\\") ? JSON.parse(`"${raw}"`) : raw;
      if (seen.has(key)) return key;
      if (CREDENTIALS.includes(key)) seen.add(key);
    }
  }
  return undefined;
}

/**
 * The answer of one attempt: its checked result, or the error it stands for (thrown). Server text in
 * either is masked for the credentials and made printable by the error constructors.
 */
export function readAnswer(
  facts: Operation,
  policy: OperationRule,
  response: Response,
  exchange: Exchange,
  secrets: readonly string[],
  now: number,
): { data: unknown; requestId: string | undefined } {
  const requestId = requestIdOf(response.headers, secrets);
  if (!response.ok) {
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), now);
    throw errorFromResponse(facts.id, response, exchange.text, {
      retryAfterMs,
      secrets,
      needs: facts,
    }) as PlanetScaleError;
  }
  const success = successOf(facts, policy, exchange);
  if ("why" in success) throw unusableAnswer(facts.id, policy, response, exchange.text, success.why, requestId);
  return { data: success.data, requestId };
}
