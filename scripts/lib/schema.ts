// Reads a JSON schema of the spec the way both the generator and the change summary need it:
// $ref followed, allOf / oneOf / anyOf folded into one view, OpenAPI 3.0's `nullable` and 3.1's
// type lists (`type: [string, "null"]`) read alike. A $ref already followed on the way down is not
// followed again, so a schema that contains itself ends where it recurs: the recursion is bounded
// by the schemas visited, at any depth. Siblings that share a schema are each read in full.
import { isObject, type OpenApiDocument } from "./spec.ts";

/** A schema and the $refs followed to reach it (its ancestors). */
export interface SchemaAt {
  node: unknown;
  refs: ReadonlySet<string>;
}

export interface SchemaView {
  /** The JSON types a value may have, "null" aside; undefined when any type is allowed. */
  types: string[] | undefined;
  nullable: boolean;
  enum: string[] | undefined;
  properties: Map<string, SchemaAt>;
  required: string[];
  items: SchemaAt | undefined;
  /** The oneOf/anyOf members, each read alone, for types that differ by member. */
  alternatives: SchemaView[];
}

export const schemaAt = (node: unknown): SchemaAt => ({ node, refs: new Set() });

function follow(doc: OpenApiDocument, ref: string): unknown {
  let target: unknown = doc;
  for (const part of ref.replace(/^#\//, "").split("/")) {
    target = isObject(target) ? target[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
  }
  return target;
}

/** A parameter, request body or response that may be a $ref (or a chain of them). */
export function deref(doc: OpenApiDocument, node: unknown): unknown {
  const followed = new Set<string>();
  let current = node;
  while (isObject(current) && typeof current.$ref === "string" && !followed.has(current.$ref)) {
    followed.add(current.$ref);
    current = follow(doc, current.$ref);
  }
  return current;
}

function typeOfValue(value: unknown): string {
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** What the node says by itself, without its $ref or composition. */
function ownView(node: Record<string, unknown>, refs: ReadonlySet<string>): SchemaView {
  const listed = Array.isArray(node.type) ? node.type.map(String) : typeof node.type === "string" ? [node.type] : [];
  const values = Array.isArray(node.enum) ? node.enum : "const" in node ? [node.const] : undefined;
  const nonNull = values?.filter((value) => value !== null);
  let types = listed.length > 0 ? listed.filter((type) => type !== "null") : undefined;
  // An enum without a type still says what the values are.
  if (!types && nonNull && nonNull.length > 0) types = [...new Set(nonNull.map(typeOfValue))];
  const properties = new Map<string, SchemaAt>();
  if (isObject(node.properties)) {
    for (const [name, property] of Object.entries(node.properties)) properties.set(name, { node: property, refs });
  }
  return {
    types,
    nullable: node.nullable === true || listed.includes("null") || values?.includes(null) === true,
    enum: nonNull?.map(String),
    properties,
    required: Array.isArray(node.required) ? node.required.map(String) : [],
    items: isObject(node.items) ? { node: node.items, refs } : undefined,
    alternatives: [],
  };
}

const ANY: SchemaView = {
  types: undefined,
  nullable: false,
  enum: undefined,
  properties: new Map(),
  required: [],
  items: undefined,
  alternatives: [],
};

/** Two schemas for one place, as a parent and its subschema or two members of a composition. */
function combinedAt(a: SchemaAt, b: SchemaAt, keyword: "allOf" | "anyOf"): SchemaAt {
  return { node: { [keyword]: [a.node, b.node] }, refs: new Set([...a.refs, ...b.refs]) };
}

function mergeChildren(a: SchemaView, b: SchemaView, keyword: "allOf" | "anyOf") {
  const properties = new Map(a.properties);
  for (const [name, property] of b.properties) {
    const existing = properties.get(name);
    properties.set(name, existing ? combinedAt(existing, property, keyword) : property);
  }
  const items = a.items && b.items ? combinedAt(a.items, b.items, keyword) : (a.items ?? b.items);
  return { properties, items };
}

function intersectTypes(a: string[] | undefined, b: string[] | undefined): string[] | undefined {
  if (!a || !b) return a ?? b;
  // Every integer is a number: integer and number together allow integers.
  return a.flatMap((type) =>
    b.includes(type) ? [type] : type === "number" && b.includes("integer") ? ["integer"] : [],
  );
}

/** Both must hold (allOf). */
function both(a: SchemaView, b: SchemaView): SchemaView {
  const allowsNull = (view: SchemaView) => view.nullable || view.types === undefined;
  return {
    types: intersectTypes(a.types, b.types),
    nullable: (a.nullable || b.nullable) && allowsNull(a) && allowsNull(b),
    enum: a.enum && b.enum ? a.enum.filter((value) => b.enum?.includes(value)) : (a.enum ?? b.enum),
    ...mergeChildren(a, b, "allOf"),
    required: [...new Set([...a.required, ...b.required])],
    alternatives: a.alternatives.length > 0 ? a.alternatives : b.alternatives,
  };
}

/** One of them holds (oneOf, anyOf). */
function either(views: SchemaView[]): SchemaView {
  const typed = views.filter((view) => view.types?.length !== 0); // {type: "null"} only adds null
  const types = typed.some((view) => view.types === undefined)
    ? undefined
    : [...new Set(typed.flatMap((view) => view.types ?? []))];
  const enumerated = typed.every((view) => view.enum !== undefined);
  let merged: SchemaView = views[0] ?? ANY;
  for (const view of views.slice(1)) merged = { ...merged, ...mergeChildren(merged, view, "anyOf") };
  return {
    types,
    nullable: views.some((view) => view.nullable),
    enum: enumerated ? [...new Set(typed.flatMap((view) => view.enum ?? []))] : undefined,
    properties: merged.properties,
    items: merged.items,
    required: views.reduce((names, view) => names.filter((name) => view.required.includes(name)), merged.required),
    alternatives: views.flatMap((view) => (view.alternatives.length > 0 ? view.alternatives : [view])),
  };
}

export function viewSchema(doc: OpenApiDocument, where: SchemaAt): SchemaView {
  const { node, refs } = where;
  if (!isObject(node)) return ANY;
  if (typeof node.$ref === "string") {
    const { $ref: ref, ...siblings } = node;
    const target = follow(doc, ref);
    // Seen on the way down: read what the schema says of itself, not what it contains again.
    if (refs.has(ref))
      return isObject(target) ? { ...ownView(target, refs), properties: new Map(), items: undefined } : ANY;
    const referred = viewSchema(doc, { node: target, refs: new Set(refs).add(ref) });
    return Object.keys(siblings).length > 0 ? both(referred, viewSchema(doc, { node: siblings, refs })) : referred;
  }
  const own = ownView(node, refs);
  let view = own;
  for (const member of Array.isArray(node.allOf) ? node.allOf : []) {
    view = both(view, viewSchema(doc, { node: member, refs }));
  }
  for (const keyword of ["oneOf", "anyOf"]) {
    const members = node[keyword];
    if (Array.isArray(members) && members.length > 0) {
      view = both(view, either(members.map((member) => viewSchema(doc, { node: member, refs }))));
    }
  }
  // OpenAPI 3.0's idiom `{allOf: [$ref], nullable: true}` makes the referred schema nullable.
  return own.nullable ? { ...view, nullable: true } : view;
}
