// What the fake refuses as the API does, with 422 and a message naming the field: values of the
// wrong type or outside the spec's enums (read from the generated operation table), missing
// required fields, and the few limits the API applies that the spec leaves out.
import { type OperationId, operations } from "../generated/operations.ts";

interface FieldFacts {
  readonly type: string;
  readonly enum?: readonly string[];
  readonly items?: FieldFacts;
}

// Limits the API applies beyond the spec's types, and how a message words them.
/** A hundred years: any longer expiry is a mistake, and far past it a date cannot hold it. */
const MAX_TTL_SECONDS = 100 * 365 * 24 * 3600;

const LIMITS: Record<string, { holds: (value: never) => boolean; says: string }> = {
  // An expiry past what a date can hold (about 275,000 years) would make the fake throw, not answer.
  ttl: {
    holds: (value: number) => value >= 0 && value <= MAX_TTL_SECONDS,
    says: `an integer from 0 to ${MAX_TTL_SECONDS}`,
  },
  name: { holds: (value: string) => value.trim() !== "", says: "a non-empty string" },
  successor: { holds: (value: string) => value.trim() !== "", says: "a non-empty string" },
  page: { holds: (value: number) => value >= 1, says: "an integer of 1 or more" },
  per_page: { holds: (value: number) => value >= 1, says: "an integer of 1 or more" },
};

const TYPES: Record<string, { test: (value: unknown) => boolean; says: string }> = {
  string: { test: (value) => typeof value === "string", says: "a string" },
  integer: { test: (value) => Number.isSafeInteger(value), says: "an integer" },
  boolean: { test: (value) => typeof value === "boolean", says: "true or false" },
  array: { test: (value) => Array.isArray(value), says: "a list" },
};

function fits(facts: FieldFacts, value: unknown): boolean {
  if (!(TYPES[facts.type]?.test(value) ?? true)) return false;
  if (facts.enum && !facts.enum.includes(value as string)) return false;
  const items = facts.items;
  return !items || !Array.isArray(value) || value.every((item) => fits(items, item));
}

function problem(field: string, facts: FieldFacts, value: unknown): string | undefined {
  const limit = LIMITS[field] as { holds: (value: unknown) => boolean; says: string } | undefined;
  if (fits(facts, value) && (limit?.holds(value) ?? true)) return undefined;
  const choices = facts.enum ?? facts.items?.enum;
  const expected =
    limit?.says ??
    (choices ? `${facts.type === "array" ? "a list of " : ""}one of ${choices.join(", ")}` : TYPES[facts.type]?.says);
  return `${field} must be ${expected}; got ${JSON.stringify(value)}`;
}

/** The first thing wrong with a request's query or body, or undefined when the API would take it. */
export function invalidInput(operation: OperationId, query: URLSearchParams, body: unknown): string | undefined {
  const facts = operations[operation];
  const queryFacts: Record<string, FieldFacts> = facts.query;
  for (const [name, fieldFacts] of Object.entries(queryFacts)) {
    const raw = query.get(name);
    if (raw === null) continue;
    // Query values arrive as text; an integer parameter must be written as one.
    const value = fieldFacts.type === "integer" && /^-?\d+$/.test(raw) ? Number(raw) : raw;
    const found = problem(name, fieldFacts, value);
    if (found) return found;
  }
  if (!facts.body) return undefined;
  if (typeof body !== "object" || body === null || Array.isArray(body)) return "the body must be a JSON object";
  const record = body as Record<string, unknown>;
  const required: readonly string[] = facts.body.required;
  const missing = required.find((name) => record[name] === undefined);
  if (missing) return `${missing} is required`;
  const fields: Record<string, FieldFacts> = facts.body.fields;
  for (const [name, fieldFacts] of Object.entries(fields)) {
    if (record[name] === undefined) continue;
    const found = problem(name, fieldFacts, record[name]);
    if (found) return found;
  }
  return undefined;
}
