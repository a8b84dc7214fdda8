// One walk of a value against a field schema that the generator wrote from the spec, for both
// directions: what the caller sends (validate.ts, enum values enforced) and what the server answers
// (answers.ts, where enum values the spec does not list yet pass through).

/** A field as the generator writes it; "any", "union" (with anyOf) and "null" come from composed schemas. */
export interface FieldSchema {
  readonly type: string;
  readonly enum?: readonly string[];
  readonly items?: FieldSchema;
  readonly fields?: Readonly<Record<string, FieldSchema>>;
  readonly required?: readonly string[];
  readonly nullable?: boolean;
  readonly anyOf?: readonly FieldSchema[];
}

/** Where a value breaks its schema, and how. `at` is the path from the top ("data[1].branch.name"). */
export type Problem =
  | { at: string; kind: "type"; expected: string; value: unknown }
  | { at: string; kind: "enum"; allowed: readonly string[]; value: unknown }
  | { at: string; kind: "missing"; names: string[] };

const FITS: Record<string, (value: unknown) => boolean> = {
  string: (value) => typeof value === "string",
  integer: (value) => Number.isSafeInteger(value),
  number: (value) => typeof value === "number" && Number.isFinite(value),
  boolean: (value) => typeof value === "boolean",
  array: Array.isArray,
  object: (value) => typeof value === "object" && value !== null && !Array.isArray(value),
  null: (value) => value === null,
};

const EXPECTED: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  array: "an array",
  object: "an object",
  null: "null",
};

const join = (at: string, name: string) => (at === "" ? name : `${at}.${name}`);

/** The first place where `value` breaks `schema`, or undefined when it fits. */
export function schemaProblem(schema: FieldSchema, value: unknown, at: string, enums: boolean): Problem | undefined {
  if (value === null && schema.nullable) return undefined;
  if (schema.type === "union") {
    const members = schema.anyOf ?? [];
    if (members.some((member) => schemaProblem(member, value, at, enums) === undefined)) return undefined;
    return { at, kind: "type", expected: `one of: ${members.map((member) => member.type).join(", ")}`, value };
  }
  const fits = FITS[schema.type];
  // "any", and types this package does not know: nothing to check.
  if (!fits) return undefined;
  if (!fits(value)) return { at, kind: "type", expected: EXPECTED[schema.type] as string, value };
  if (enums && schema.enum && !schema.enum.includes(value as string)) {
    return { at, kind: "enum", allowed: schema.enum, value };
  }
  if (Array.isArray(value) && schema.items) {
    for (const [index, item] of value.entries()) {
      const problem = schemaProblem(schema.items, item, `${at}[${index}]`, enums);
      if (problem) return problem;
    }
  }
  return schema.fields ? fieldsProblem(schema, value as Record<string, unknown>, at, enums) : undefined;
}

function fieldsProblem(schema: FieldSchema, value: Record<string, unknown>, at: string, enums: boolean) {
  const missing = (schema.required ?? []).filter((name) => value[name] === undefined);
  if (missing.length > 0) return { at, kind: "missing" as const, names: missing.map((name) => join(at, name)) };
  for (const [name, field] of Object.entries(schema.fields ?? {})) {
    if (value[name] === undefined) continue;
    const problem = schemaProblem(field, value[name], join(at, name), enums);
    if (problem) return problem;
  }
  return undefined;
}
