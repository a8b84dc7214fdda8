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

/** `problem` as seen from one level up: its path under `parent`. Built only once a problem is found. */
function under(parent: string, problem: Problem | undefined): Problem | undefined {
  if (!problem) return undefined;
  const at = (path: string) => (path === "" ? parent : path.startsWith("[") ? `${parent}${path}` : `${parent}.${path}`);
  if (problem.kind === "missing") return { ...problem, at: at(problem.at), names: problem.names.map(at) };
  return { ...problem, at: at(problem.at) };
}

// A schema's fields as entries, made once per schema: answers are checked on every call.
const fieldEntries = new WeakMap<object, [string, FieldSchema][]>();
const entriesOf = (fields: Readonly<Record<string, FieldSchema>>) => {
  let entries = fieldEntries.get(fields);
  if (!entries) {
    entries = Object.entries(fields);
    fieldEntries.set(fields, entries);
  }
  return entries;
};

/** The first place where `value` breaks `schema`, or undefined when it fits; `at` names the value. */
export function schemaProblem(schema: FieldSchema, value: unknown, at: string, enums: boolean): Problem | undefined {
  const problem = problemOf(schema, value, enums);
  return at === "" ? problem : under(at, problem);
}

function problemOf(schema: FieldSchema, value: unknown, enums: boolean): Problem | undefined {
  if (value === null && schema.nullable) return undefined;
  if (schema.type === "union") {
    const members = schema.anyOf ?? [];
    if (members.some((member) => problemOf(member, value, enums) === undefined)) return undefined;
    return { at: "", kind: "type", expected: `one of: ${members.map((member) => member.type).join(", ")}`, value };
  }
  const fits = FITS[schema.type];
  // "any", and types this package does not know: nothing to check.
  if (!fits) return undefined;
  if (!fits(value)) return { at: "", kind: "type", expected: EXPECTED[schema.type] as string, value };
  if (enums && schema.enum && !schema.enum.includes(value as string)) {
    return { at: "", kind: "enum", allowed: schema.enum, value };
  }
  if (schema.items && Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const problem = problemOf(schema.items, value[index], enums);
      if (problem) return under(`[${index}]`, problem);
    }
  }
  return schema.fields ? fieldsProblem(schema, value as Record<string, unknown>, enums) : undefined;
}

function fieldsProblem(schema: FieldSchema, value: Record<string, unknown>, enums: boolean): Problem | undefined {
  const required = schema.required ?? [];
  for (const name of required) {
    if (value[name] === undefined) {
      return { at: "", kind: "missing", names: required.filter((each) => value[each] === undefined) };
    }
  }
  for (const [name, field] of entriesOf(schema.fields ?? {})) {
    const item = value[name];
    if (item === undefined) continue;
    const problem = problemOf(field, item, enums);
    if (problem) return under(name, problem);
  }
  return undefined;
}
