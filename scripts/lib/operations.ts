// Turns each operation of the spec into the facts the runtime checks against, written out as a
// TypeScript constant so that no list from the spec is ever typed by hand in src/.
import { deref, type SchemaAt, type SchemaView, schemaAt, viewSchema } from "./schema.ts";
import { isObject, type OpenApiDocument } from "./spec.ts";

const METHODS = ["get", "put", "post", "delete", "patch"] as const;

/**
 * What the runtime checks a field against. `type` is a JSON type, or "any" (the spec allows any
 * value) or "union" (oneOf/anyOf members of different types, listed in `anyOf`). An object lists
 * its fields and the ones it requires, so that answers can be checked as deep as the spec says.
 */
interface FieldSchema {
  type: string;
  enum?: string[];
  items?: FieldSchema;
  fields?: Record<string, FieldSchema>;
  required?: string[];
  anyOf?: FieldSchema[];
  nullable?: true;
}

interface OperationFacts {
  method: string;
  path: string;
  pathParams: string[];
  query: Record<string, FieldSchema>;
  body: { fields: Record<string, FieldSchema>; required: string[] } | null;
  /** The schema of the success answer's JSON body (create, get…); null for a bare 204 (delete…). */
  response: FieldSchema | null;
  serviceTokenAccesses: string[];
  oauthScopes: Record<string, string[]>;
}

function fieldOf(doc: OpenApiDocument, view: SchemaView, where: string): FieldSchema {
  const types = view.types;
  if (types === undefined) return { type: "any" };
  if (types.length === 0) {
    if (view.nullable) return { type: "null", nullable: true };
    throw new Error(`${where}: its allOf members allow no value in common`);
  }
  const nullable = view.nullable ? { nullable: true as const } : {};
  if (types.length > 1) {
    const members = view.alternatives.filter((member) => member.types?.length !== 0);
    const anyOf =
      members.length > 1 ? members.map((member) => fieldOf(doc, member, where)) : types.map((type) => ({ type }));
    return { type: "union", anyOf, ...nullable };
  }
  const field: FieldSchema = { type: types[0] as string };
  if (view.enum) field.enum = view.enum;
  if (field.type === "array" && view.items) field.items = fieldSchema(doc, view.items, `${where}[]`);
  if (field.type === "object" && view.properties.size > 0) {
    field.fields = Object.fromEntries(
      [...view.properties].map(([name, property]) => [name, fieldSchema(doc, property, `${where}.${name}`)]),
    );
    if (view.required.length > 0) field.required = view.required;
  }
  return { ...field, ...nullable };
}

function fieldSchema(doc: OpenApiDocument, where: SchemaAt, name: string): FieldSchema {
  return fieldOf(doc, viewSchema(doc, where), name);
}

function backticked(text: string): string[] {
  return [...text.matchAll(/`([^`]+)`/g)].map((match) => match[1] as string);
}

/** Reads the "### Authorization" section PlanetScale writes into every operation's description. */
export function parseAuthorization(description: string): Pick<OperationFacts, "serviceTokenAccesses" | "oauthScopes"> {
  const accesses = /\*\*Service Token Accesses\*\*\s*\n([^\n]*)/.exec(description);
  const oauthScopes: Record<string, string[]> = {};
  const oauth = description.split("**OAuth Scopes**")[1] ?? "";
  for (const row of oauth.matchAll(/^\s*\|\s*([A-Za-z][\w ]*?)\s*\|([^\n]*)\|\s*$/gm)) {
    const scopes = backticked(row[2] as string);
    if (scopes.length > 0) oauthScopes[(row[1] as string).toLowerCase()] = scopes;
  }
  return { serviceTokenAccesses: accesses ? backticked(accesses[1] as string) : [], oauthScopes };
}

function bodyFacts(doc: OpenApiDocument, op: Record<string, unknown>, id: string): OperationFacts["body"] {
  const requestBody = deref(doc, op.requestBody);
  const content = isObject(requestBody) && isObject(requestBody.content) ? requestBody.content : {};
  const media = content["application/json"];
  if (!isObject(media) || media.schema === undefined) return null;
  const view = viewSchema(doc, schemaAt(media.schema));
  const fields: Record<string, FieldSchema> = {};
  for (const [name, property] of view.properties) fields[name] = fieldSchema(doc, property, `${id} body ${name}`);
  return { fields, required: view.required };
}

/** The first 2xx answer's JSON body schema, or null when success has no JSON body. */
function successSchema(doc: OpenApiDocument, op: Record<string, unknown>, id: string): FieldSchema | null {
  const responses = isObject(op.responses) ? op.responses : {};
  for (const [status, answer] of Object.entries(responses)) {
    const response = deref(doc, answer);
    if (!status.startsWith("2") || !isObject(response) || !isObject(response.content)) continue;
    const media = response.content["application/json"];
    if (isObject(media)) return fieldSchema(doc, schemaAt(media.schema), `${id} answer`);
  }
  return null;
}

export function operationFacts(doc: OpenApiDocument): Record<string, OperationFacts> {
  const facts: Record<string, OperationFacts> = {};
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op) || typeof op.operationId !== "string") continue;
      const id = op.operationId;
      const parameters = (Array.isArray(op.parameters) ? op.parameters : []).map((p) => deref(doc, p)).filter(isObject);
      const query: Record<string, FieldSchema> = {};
      for (const p of parameters.filter((p) => p.in === "query")) {
        query[String(p.name)] = fieldSchema(doc, schemaAt(p.schema), `${id} query ${String(p.name)}`);
      }
      facts[id] = {
        method,
        path: route,
        pathParams: parameters.filter((p) => p.in === "path").map((p) => String(p.name)),
        query,
        body: bodyFacts(doc, op, id),
        response: successSchema(doc, op, id),
        ...parseAuthorization(typeof op.description === "string" ? op.description : ""),
      };
    }
  }
  return facts;
}

/** `node` with every subtree equal to a named schema replaced by that name's marker. */
function withMarkers(node: unknown, named: Map<string, string>): unknown {
  if (typeof node !== "object" || node === null) return node;
  const name = named.get(JSON.stringify(node));
  if (name) return `@@${name}@@`;
  if (Array.isArray(node)) return node.map((item) => withMarkers(item, named));
  return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withMarkers(value, named)]));
}

/** An object schema that requires every field it lists, in their order (most of the spec's answers). */
function requiresAll(node: Record<string, unknown>): boolean {
  const { type, fields, required } = node;
  return type === "object" && isObject(fields) && JSON.stringify(required) === JSON.stringify(Object.keys(fields));
}

/**
 * `node` as TypeScript source, indented as JSON.stringify(node, null, 2) would be, with the shared
 * answers by name and `allRequired({...})` for an object schema that requires all its fields, so
 * that their names are not written a second time: the table ships in every bundle of createRole.
 */
function sourceOf(node: unknown, indent = ""): string {
  if (typeof node === "string") return /^@@(answer\d+)@@$/.exec(node)?.[1] ?? JSON.stringify(node);
  if (typeof node !== "object" || node === null) return JSON.stringify(node);
  const inner = `${indent}  `;
  if (Array.isArray(node)) {
    if (node.length === 0) return "[]";
    return `[\n${node.map((item) => inner + sourceOf(item, inner)).join(",\n")}\n${indent}]`;
  }
  const record = node as Record<string, unknown>;
  if (requiresAll(record)) {
    const { required: _, ...rest } = record;
    return `/* @__PURE__ */ allRequired(${sourceOf(rest, indent)})`;
  }
  const entries = Object.entries(record).filter(([, value]) => value !== undefined);
  if (entries.length === 0) return "{}";
  const lines = entries.map(([key, value]) => `${inner}${JSON.stringify(key)}: ${sourceOf(value, inner)}`);
  return `{\n${lines.join(",\n")}\n${indent}}`;
}

/** A constant's initializer: `as const` where it is a literal (a call types its own result). */
const constant = (source: string) => (/^[[{]/.test(source) ? `${source} as const` : source);

/**
 * Answers that several operations share (the role, for six of them and inside list_roles' page) are
 * written once, as a constant the table refers to: the table ships in every bundle, so it is kept small.
 */
function sharedAnswers(facts: Record<string, OperationFacts>): { consts: string[]; table: string } {
  // Smallest first, so that a larger answer refers to the smaller ones it contains.
  const answers = [
    ...new Set(Object.values(facts).flatMap((fact) => (fact.response ? [JSON.stringify(fact.response)] : []))),
  ];
  answers.sort((a, b) => a.length - b.length);
  const named = new Map<string, string>();
  const consts: string[] = [];
  for (const text of answers) {
    const name = `answer${named.size}`;
    consts.push(`const ${name} = ${constant(sourceOf(withMarkers(JSON.parse(text), named)))};\n`);
    named.set(text, name);
  }
  return { consts, table: sourceOf(withMarkers(facts, named)) };
}

const ALL_REQUIRED = [
  "/** An object schema that requires every field it lists, as most of the spec's answers do: the names are written once. */",
  "function allRequired<const Schema extends { readonly fields: object }>(",
  "  schema: Schema,",
  "): Schema & { readonly required: readonly string[] } {",
  "  return { ...schema, required: Object.keys(schema.fields) };",
  "}",
  "",
];

export function describeOperations(doc: OpenApiDocument): string {
  const facts = operationFacts(doc);
  const ids = Object.keys(facts).sort();
  const sorted = Object.fromEntries(ids.map((id) => [id, facts[id] as OperationFacts]));
  const { consts, table } = sharedAnswers(sorted);
  return [
    'import type { operations as Operations } from "./openapi.ts";',
    "",
    '/** The spec\'s operation ids, e.g. "create_role". */',
    "export type OperationId = keyof Operations;",
    "",
    ...ALL_REQUIRED,
    "// The success answers' schemas, each written once.",
    ...consts,
    "/** What the spec says about each operation, for the checks and messages at run time. */",
    `export const operations = ${table} as const satisfies Record<OperationId, unknown>;`,
    "",
  ].join("\n");
}
