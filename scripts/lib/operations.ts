// Turns each operation of the spec into the facts the runtime checks against, written out as a
// TypeScript constant so that no list from the spec is ever typed by hand in src/.

import { checkedTypes } from "../../src/schema.ts";
import { printable } from "../../src/secrets.ts";
import { deref, type SchemaAt, type SchemaView, schemaAt, viewSchema } from "./schema.ts";
import { isObject, jsonMedia, type OpenApiDocument, SpecError } from "./spec.ts";

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
  id: string;
  method: string;
  path: string;
  pathParams: string[];
  query: Record<string, FieldSchema>;
  body: { fields: Record<string, FieldSchema>; required: string[] } | null;
  /** The schema of the success answer's JSON body (create, get…); null for a bare 204 (delete…). */
  response: FieldSchema | null;
  serviceTokenAccesses: string[];
  oauthScopes: Record<string, string[]>;
  /**
   * For each path parameter that has them, the literal segments other routes have in its place:
   * `…/roles/{id}` with id "default" would be `…/roles/default`, which is get_default_role.
   */
  siblingSegments: Record<string, string[]>;
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
  const media = jsonMedia(isObject(requestBody) ? requestBody.content : undefined);
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
    const media = jsonMedia(response.content);
    if (isObject(media)) return fieldSchema(doc, schemaAt(media.schema), `${id} answer`);
  }
  return null;
}

const isParam = (segment: string) => segment.startsWith("{");

/** The literal segments other routes have where `route` has a parameter, by parameter name. */
function siblingSegments(route: string, routes: readonly string[]): Record<string, string[]> {
  const own = route.split("/");
  const others = routes.map((other) => other.split("/"));
  const found: Record<string, string[]> = {};
  own.forEach((segment, index) => {
    if (!isParam(segment)) return;
    // A parameter matches any segment, so a route is a sibling when every segment before this one could match.
    const reaches = (other: string[]) =>
      own.slice(0, index).every((part, at) => isParam(part) || isParam(other[at] as string) || part === other[at]);
    const literals = others
      .filter((other) => other.length > index && !isParam(other[index] as string) && reaches(other))
      .map((other) => other[index] as string);
    if (literals.length > 0) found[segment.slice(1, -1)] = [...new Set(literals)].sort();
  });
  return found;
}

export function operationFacts(doc: OpenApiDocument): Record<string, OperationFacts> {
  const facts: Record<string, Omit<OperationFacts, "siblingSegments">> = {};
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
        id,
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
  const routes = Object.values(facts).map((fact) => fact.path);
  return Object.fromEntries(
    Object.entries(facts).map(([id, fact]) => [id, { ...fact, siblingSegments: siblingSegments(fact.path, routes) }]),
  );
}

/** An object schema that requires every field it lists, in their order (most of the spec's answers). */
function requiresAll(node: Record<string, unknown>): boolean {
  const { type, fields, required } = node;
  return type === "object" && isObject(fields) && JSON.stringify(required) === JSON.stringify(Object.keys(fields));
}

/** Such a schema without its list of required names, written `allRequired({...})`, which takes them from its fields. */
class AllRequired {
  constructor(readonly schema: Record<string, unknown>) {}
}

/** A value written once as a constant, in place of each of its copies. */
class Shared {
  constructor(public name: string) {}
}

/** `node` with every object schema that requires all its fields as AllRequired. */
function withAllRequired(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withAllRequired);
  if (!isObject(node)) return node;
  const copy = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, withAllRequired(value)]));
  if (!requiresAll(node)) return copy;
  const { required: _, ...schema } = copy;
  return new AllRequired(schema);
}

/** The children of a node that may themselves be shared. */
function childrenOf(node: unknown): unknown[] {
  if (node instanceof AllRequired) return [node.schema];
  if (Array.isArray(node)) return node;
  return isObject(node) ? Object.values(node) : [];
}

/** A text that is equal for equal values, and that no spec value can forge for a marker. */
function keyOf(node: unknown): string {
  if (node instanceof Shared) return `#${node.name}`;
  if (node instanceof AllRequired) return `allRequired(${keyOf(node.schema)})`;
  if (Array.isArray(node)) return `[${node.map(keyOf).join(",")}]`;
  if (!isObject(node)) return JSON.stringify(node) ?? "undefined";
  return `{${Object.entries(node)
    .map(([key, value]) => `${JSON.stringify(key)}:${keyOf(value)}`)
    .join(",")}}`;
}

/** `node` with every subtree whose key is `key` replaced by `marker`. */
function replaced(node: unknown, key: string, marker: Shared): unknown {
  if (node instanceof Shared || typeof node !== "object" || node === null) return node;
  if (keyOf(node) === key) return marker;
  if (node instanceof AllRequired)
    return new AllRequired(replaced(node.schema, key, marker) as Record<string, unknown>);
  if (Array.isArray(node)) return node.map((item) => replaced(item, key, marker));
  return Object.fromEntries(Object.entries(node).map(([name, value]) => [name, replaced(value, key, marker)]));
}

// A copy shorter than this (in keyOf's text) is left in place: a constant costs its declaration, and
// gzip takes a short repeat almost for free (measured on createRole's bundle: sharing from 40
// characters up weighs 17 B more than from 200).
const SHARED_MIN_LENGTH = 200;

/** The largest value (object or list) that `roots` hold more than once, if any is worth sharing. */
function largestRepeat(roots: readonly unknown[]): { key: string; node: unknown } | undefined {
  const seen = new Map<string, { node: unknown; count: number }>();
  const visit = (node: unknown) => {
    if (node instanceof Shared || typeof node !== "object" || node === null) return;
    const key = keyOf(node);
    const entry = seen.get(key);
    if (entry) entry.count++;
    else seen.set(key, { node, count: 1 });
    childrenOf(node).forEach(visit);
  };
  roots.forEach(visit);
  let best: { key: string; node: unknown } | undefined;
  for (const [key, { node, count }] of seen) {
    if (count > 1 && key.length >= SHARED_MIN_LENGTH && key.length > (best?.key.length ?? 0)) best = { key, node };
  }
  return best;
}

/** `node` as TypeScript source, indented as JSON.stringify(node, null, 2) would be. */
function sourceOf(node: unknown, indent = ""): string {
  if (node instanceof Shared) return node.name;
  if (node instanceof AllRequired) return `/* @__PURE__ */ allRequired(${sourceOf(node.schema, indent)})`;
  if (typeof node !== "object" || node === null) return JSON.stringify(node);
  const inner = `${indent}  `;
  if (Array.isArray(node)) {
    if (node.length === 0) return "[]";
    return `[\n${node.map((item) => inner + sourceOf(item, inner)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(node).filter(([, value]) => value !== undefined);
  if (entries.length === 0) return "{}";
  // In a literal, `"__proto__": …` sets the prototype; a computed key makes the field of that name.
  const keyOf = (key: string) => (key === "__proto__" ? `[${JSON.stringify(key)}]` : JSON.stringify(key));
  const lines = entries.map(([key, value]) => `${inner}${keyOf(key)}: ${sourceOf(value, inner)}`);
  return `{\n${lines.join(",\n")}\n${indent}}`;
}

/** A constant's initializer: `as const` where it is a literal (a call types its own result). */
const constant = (source: string) => (/^[[{]/.test(source) ? `${source} as const` : source);

// Lists the package exports by name, each found by its path in the table. Exported as a constant of
// its own that the table refers to, rather than read out of the table in src/: a bundler keeps a
// property chain (`create_role.body.fields…`) that nothing uses, in case a getter runs, and so every
// bundle of createRole carried INHERITED_ROLES; an unused array literal it drops.
const NAMED_LISTS: Record<string, readonly string[]> = {
  INHERITED_ROLES: ["create_role", "body", "fields", "inherited_roles", "items", "enum"],
};

/**
 * Each named list the spec has, as a marker with its value. One the spec lacks (a test's small
 * document) is not written, and src/, which imports it, then fails to type-check.
 */
function namedLists(facts: Record<string, OperationFacts>): { marker: Shared; node: unknown }[] {
  return Object.entries(NAMED_LISTS).flatMap(([name, at]) => {
    const node = at.reduce<unknown>((parent, key) => (isObject(parent) ? parent[key] : undefined), facts);
    return Array.isArray(node) ? [{ marker: new Shared(name), node }] : [];
  });
}

/**
 * What the table holds more than once at length (the role answer of six operations, also inside
 * list_roles' page; the OAuth scopes every operation lists; the roles a role may inherit) is written
 * once, as a constant the table refers to, and an object schema that requires all its fields without
 * its list of names: the table ships in every bundle of createRole, so it is kept small. The named
 * lists come first, exported.
 */
function sharedValues(facts: Record<string, OperationFacts>): { consts: string[]; table: Record<string, unknown> } {
  const named = namedLists(facts);
  const required = withAllRequired(facts);
  let table = named.reduce((node, { marker, node: list }) => replaced(node, keyOf(list), marker), required);
  let definitions: { marker: Shared; node: unknown }[] = [];
  const roots = () => [table, ...definitions.map(({ node }) => node)];
  // Largest first: a copy inside a shared value is then counted once, in the value's one definition.
  for (let repeat = largestRepeat(roots()); repeat; repeat = largestRepeat(roots())) {
    // Named for now by the order found, so that markers stay distinct while the search goes on.
    const marker = new Shared(String(definitions.length));
    const share = (node: unknown) => replaced(node, repeat.key, marker);
    table = share(table);
    definitions = [...definitions.map((each) => ({ ...each, node: share(each.node) })), { marker, node: repeat.node }];
  }
  // Declared smallest first (the reverse of the order found), so that each refers only to constants above it.
  definitions.reverse();
  definitions.forEach(({ marker }, index) => {
    marker.name = `shared${index}`;
  });
  const consts = [
    ...named.map(({ node, marker }) => `export const ${marker.name} = ${constant(sourceOf(node))};\n`),
    ...definitions.map(({ node, marker }) => `const ${marker.name} = ${constant(sourceOf(node))};\n`),
  ];
  return { consts, table: table as Record<string, unknown> };
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

// Each operation is a constant of its own, named by its id, so that a bundle keeps only the
// operations it calls: a snake_case id with an underscore is a name no reserved word can be.
const EXPORTABLE_ID = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$/;

function* fieldsUnder(field: FieldSchema, where: string): Generator<[string, FieldSchema]> {
  yield [where, field];
  if (field.items) yield* fieldsUnder(field.items, `${where}[]`);
  for (const [name, child] of Object.entries(field.fields ?? {})) yield* fieldsUnder(child, `${where}.${name}`);
  for (const member of field.anyOf ?? []) yield* fieldsUnder(member, where);
}

/**
 * The runtime checks every request and every answer against these facts (src/schema.ts), and has a
 * check for only the types the Roles operations use. A field of any other (a union of types, number,
 * null) would go unchecked without a word, so the generator stops and says where, as for an id.
 */
function refuseUnchecked(id: string, facts: OperationFacts): void {
  const known = checkedTypes();
  const fields: [string, FieldSchema][] = [
    ...Object.entries(facts.query).flatMap(([name, field]) => [...fieldsUnder(field, `query ${name}`)]),
    ...Object.entries(facts.body?.fields ?? {}).flatMap(([name, field]) => [...fieldsUnder(field, `request ${name}`)]),
    ...(facts.response ? fieldsUnder(facts.response, "response") : []),
  ];
  // The readers write every enum value as text (for the change summary); the runtime compares a
  // value with them as a string's, so an integer enum's values would refuse every valid value.
  const unchecked = (field: FieldSchema) =>
    !known.includes(field.type)
      ? `is of type ${field.type}${field.anyOf ? ` of ${field.anyOf.map((member) => member.type).join(", ")}` : ""}, ` +
        `which src/schema.ts has no check for (it checks ${known.join(", ")})`
      : field.enum !== undefined && field.type !== "string"
        ? `lists enum values for type ${field.type}, which src/schema.ts checks only for strings`
        : undefined;
  for (const [where, field] of fields) {
    const why = unchecked(field);
    if (why) throw new SpecError(`${id} ${printable(where)} ${why}: give it one, with a test, before generating`);
  }
}

export function describeOperations(doc: OpenApiDocument): string {
  const facts = operationFacts(doc);
  const ids = Object.keys(facts).sort();
  const odd = ids.find((id) => !EXPORTABLE_ID.test(id));
  if (odd !== undefined) {
    throw new SpecError(
      `operation id ${JSON.stringify(printable(odd))} cannot name a constant of src/generated/operations.ts: ` +
        "the generator takes snake_case ids of two words or more (create_role)",
    );
  }
  const sorted = Object.fromEntries(ids.map((id) => [id, facts[id] as OperationFacts]));
  for (const id of ids) refuseUnchecked(id, sorted[id] as OperationFacts);
  const { consts, table } = sharedValues(sorted);
  return [
    'import type { operations as Operations } from "./openapi.ts";',
    "",
    '/** The spec\'s operation ids, e.g. "create_role". */',
    "export type OperationId = keyof Operations;",
    "",
    ...ALL_REQUIRED,
    "// What the operations hold more than once, written once.",
    ...consts,
    "// What the spec says about each operation, for the checks and messages at run time.",
    ...ids.map((id) => `export const ${id} = ${constant(sourceOf(table[id]))};\n`),
    "/** Every operation by its id. */",
    `export const operations = { ${ids.join(", ")} } as const satisfies Record<OperationId, unknown>;`,
    "",
    "/** One operation's facts. */",
    "export type Operation = (typeof operations)[OperationId];",
    "",
  ].join("\n");
}
