// One walk of a value against a field schema that the generator wrote from the spec, for both
// directions: what the caller sends (validate.ts, enum values enforced) and what the server answers
// (answers.ts, where enum values the spec does not list yet pass through).

/**
 * A field as the generator writes it: a JSON type the spec's Roles operations use, or "any" (a schema
 * with no type). The generator refuses a spec whose fields need a check this file does not have
 * (a union of types, number, null), so that no field is generated unchecked (checkedTypes).
 */
export interface FieldSchema {
  readonly type: string;
  readonly enum?: readonly string[];
  readonly items?: FieldSchema;
  readonly fields?: Readonly<Record<string, FieldSchema>>;
  readonly required?: readonly string[];
  readonly nullable?: boolean;
}

/**
 * Where a value breaks its schema, and how. `at` is the path from the top ("data[1].branch.name");
 * `expected` is what the value should be, in words ("an integer", "one of off, warn, on").
 */
export type Problem =
  | { at: string; kind: "type" | "enum"; expected: string; value: unknown }
  | { at: string; kind: "missing"; names: string[] };

const FITS: Record<string, (value: unknown) => boolean> = {
  string: (value) => typeof value === "string",
  integer: (value) => Number.isSafeInteger(value),
  boolean: (value) => typeof value === "boolean",
  array: Array.isArray,
  object: (value) => typeof value === "object" && value !== null && !Array.isArray(value),
};

const EXPECTED: Record<string, string> = {
  string: "a string",
  integer: "an integer",
  boolean: "true or false",
  array: "an array",
  object: "an object",
};

/** The types a generated field may have: the ones checked here, and "any" (for the generator). */
export function checkedTypes(): string[] {
  return ["any", ...Object.keys(FITS)];
}

/** `problem` as seen from one level up: its path under `parent`. Built only once a problem is found. */
function under(parent: string, problem: Problem | undefined): Problem | undefined {
  if (!problem) return undefined;
  const at = (path: string) => (path === "" ? parent : path.startsWith("[") ? `${parent}${path}` : `${parent}.${path}`);
  if (problem.kind === "missing") return { ...problem, at: at(problem.at), names: problem.names.map(at) };
  return { ...problem, at: at(problem.at) };
}

/** The first place where `value` breaks `schema`, or undefined when it fits; `at` names the value. */
export function schemaProblem(schema: FieldSchema, value: unknown, at: string, enums: boolean): Problem | undefined {
  const problem = checkerOf(schema, enums)(value);
  return at === "" ? problem : under(at, problem);
}

// Answers are checked on every call, so each schema is turned once into a function that checks a
// value against it: the walk then reads no schema object, whose many shapes would make every
// property read slow.
type Check = (value: unknown) => Problem | undefined;
const checkers = { true: new WeakMap<FieldSchema, Check>(), false: new WeakMap<FieldSchema, Check>() };

function checkerOf(schema: FieldSchema, enums: boolean): Check {
  const made = checkers[`${enums}`];
  let check = made.get(schema);
  // Stryker disable next-line ConditionalExpression: the cache saves compiling again, nothing else; a check made afresh is the same check
  if (!check) {
    const own = checkOf(schema, enums);
    check = schema.nullable ? (value) => (value === null ? undefined : own(value)) : own;
    // Stryker disable next-line CallExpression: the cache saves compiling again, nothing else (above)
    made.set(schema, check);
  }
  return check;
}

const fitsAnything: Check = () => undefined;

function checkOf(schema: FieldSchema, enums: boolean): Check {
  const fits = FITS[schema.type];
  // "any": the spec allows any value.
  if (!fits) return fitsAnything;
  const expected = EXPECTED[schema.type] as string;
  const allowed = enums ? schema.enum : undefined;
  const oneOf = allowed ? `one of ${allowed.join(", ")}` : "";
  const items = schema.items ? checkerOf(schema.items, enums) : undefined;
  const fields = schema.fields ? fieldsCheck(schema.fields, schema.required ?? [], enums) : undefined;
  return (value) => {
    if (!fits(value)) return { at: "", kind: "type", expected, value };
    if (allowed && !allowed.includes(value as string)) return { at: "", kind: "enum", expected: oneOf, value };
    if (items && Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        const problem = items(value[index]);
        if (problem) return under(`[${index}]`, problem);
      }
    }
    return fields?.(value as Record<string, unknown>);
  };
}

function fieldsCheck(
  fields: Readonly<Record<string, FieldSchema>>,
  required: readonly string[],
  enums: boolean,
): (value: Record<string, unknown>) => Problem | undefined {
  const checks = Object.entries(fields).map(([name, field]) => [name, checkerOf(field, enums)] as const);
  return (value) => {
    for (const name of required) {
      if (value[name] === undefined) {
        return { at: "", kind: "missing", names: required.filter((each) => value[each] === undefined) };
      }
    }
    for (const [name, check] of checks) {
      const item = value[name];
      if (item === undefined) continue;
      const problem = check(item);
      if (problem) return under(name, problem);
    }
    return undefined;
  };
}
