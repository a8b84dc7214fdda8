// The one boundary every answer crosses: a non-2xx becomes its error class, and a 2xx is checked
// against the spec's schema for its operation (generated) before anyone reads a field of it.
// Unknown fields and enum values the spec does not list pass through untouched: PlanetScale adds
// them before the spec catches up (`pscale_managed`).
import { errorFromResponse, type PlanetScaleError, requestIdOf, type Unusable, unusableAnswer } from "./errors.ts";
import { type OperationId, operations } from "./generated/operations.ts";
import { type OperationPolicy, operationPolicy, parseRetryAfter } from "./retry.ts";
import { redactInspect } from "./secrets.ts";
import { BodyTooLargeError, type Exchange } from "./transport.ts";
import type { FieldSchema } from "./validate.ts";

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a number";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

const article = (type: string) => (/^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`);

const FITS: Record<string, (value: unknown) => boolean> = {
  string: (value) => typeof value === "string",
  integer: (value) => Number.isSafeInteger(value),
  number: (value) => typeof value === "number" && Number.isFinite(value),
  boolean: (value) => typeof value === "boolean",
  array: Array.isArray,
  object: (value) => typeof value === "object" && value !== null && !Array.isArray(value),
};

/** The first place where `value` breaks `schema`, in words ("id that is an integer, not a string"); undefined when it fits. */
export function answerProblem(schema: FieldSchema, value: unknown, at = "the answer"): string | undefined {
  if (value === null && schema.nullable) return undefined;
  if (schema.type === "union") {
    const members = schema.anyOf ?? [];
    return members.some((member) => answerProblem(member, value, at) === undefined)
      ? undefined
      : `with ${at} that is ${typeName(value)}, not one of ${members.map((member) => member.type).join(", ")}`;
  }
  const fits = FITS[schema.type];
  // "any", and types this package does not know yet: nothing to check.
  if (!fits) return undefined;
  if (!fits(value))
    return `with ${at === "the answer" ? "JSON" : at} that is ${typeName(value)}, not ${article(schema.type)}`;
  if (Array.isArray(value) && schema.items) {
    for (const [index, item] of value.entries()) {
      const problem = answerProblem(schema.items, item, `${at === "the answer" ? "" : at}[${index}]`);
      if (problem) return problem;
    }
  }
  if (schema.fields) return objectProblem(schema, value as Record<string, unknown>, at);
  return undefined;
}

function objectProblem(schema: FieldSchema, value: Record<string, unknown>, at: string): string | undefined {
  const prefix = at === "the answer" ? "" : `${at}.`;
  const missing = (schema.required ?? []).filter((name) => value[name] === undefined);
  if (missing.length > 0) return `without ${missing.map((name) => prefix + name).join(" and ")}`;
  for (const [name, field] of Object.entries(schema.fields ?? {})) {
    if (value[name] === undefined) continue;
    const problem = answerProblem(field, value[name], prefix + name);
    if (problem) return problem;
  }
  return undefined;
}

/** A 2xx read to its end: the result, checked against its schema, or why it cannot be used. */
function successOf(operation: OperationId, exchange: Exchange): { data: unknown } | { why: Unusable } {
  const { text, readError } = exchange;
  if (readError instanceof BodyTooLargeError) return { why: { kind: "too large", limit: readError.limit } };
  if (readError !== undefined) return { why: { kind: "broken off", read: text.length, cause: readError } };
  const schema: FieldSchema | null = operations[operation].response;
  if (schema === null) return { data: undefined };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return { why: { kind: "not json" } };
  }
  const problem = credentialsProblem(operation, parsed) ?? answerProblem(schema, parsed);
  return problem ? { why: { kind: "wrong shape", problem } } : { data: redactInspect(parsed as object) };
}

/**
 * An answer that should carry a one-time password must carry it, and the username it goes with:
 * the spec types them as strings, and an empty one is as lost as an absent one.
 */
function credentialsProblem(operation: OperationId, parsed: unknown): string | undefined {
  const policy: OperationPolicy = operationPolicy[operation];
  if (!policy.returnsPassword || !FITS.object?.(parsed)) return undefined;
  const record = parsed as Record<string, unknown>;
  const missing = ["username", "password"].filter((key) => typeof record[key] !== "string" || record[key] === "");
  return missing.length > 0 ? `without ${missing.join(" and ")}` : undefined;
}

/**
 * The answer of one attempt: its checked result, or the error it stands for (thrown). Server text in
 * either is masked for the credentials and made printable by the error constructors.
 */
export function readAnswer(
  operation: OperationId,
  policy: OperationPolicy,
  response: Response,
  exchange: Exchange,
  secrets: readonly string[],
  now: number,
): { data: unknown; requestId: string | undefined } {
  const requestId = requestIdOf(response.headers, secrets);
  if (!response.ok) {
    const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"), now);
    throw errorFromResponse(operation, response, exchange.text, { retryAfterMs, secrets }) as PlanetScaleError;
  }
  const success = successOf(operation, exchange);
  if ("why" in success) throw unusableAnswer(operation, policy, response, exchange.text, success.why, requestId);
  return { data: success.data, requestId };
}
