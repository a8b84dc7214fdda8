// What a spec change means for callers of this client: operations added and removed, request and
// response fields added, removed or changed, enum values added and removed, with the changes that
// break callers marked. A small walker over the JSON schemas the Roles operations use.
import { codeSpan, markdownText } from "./escape.ts";
import { deref, type SchemaAt, type SchemaView, schemaAt, viewSchema } from "./schema.ts";
import { isObject, jsonMedia, type OpenApiDocument } from "./spec.ts";

export interface SpecChange {
  operation: string;
  where: "operation" | "request" | "response";
  /** Dotted field path: `inherited_roles[]`, `data[].branch.name`; empty for a whole operation. */
  field: string;
  kind:
    | "operation-added"
    | "operation-removed"
    | "operation-renamed"
    | "field-added"
    | "field-removed"
    | "type-changed"
    | "now-required"
    | "now-optional"
    | "now-nullable"
    | "no-longer-nullable"
    | "enum-value-added"
    | "enum-value-removed";
  detail: string;
  breaking: boolean;
}

interface FieldShape {
  type: string;
  nullable: boolean;
  required: boolean;
  enum: string[] | undefined;
}

interface OperationShape {
  key: string;
  request: Map<string, FieldShape>;
  response: Map<string, FieldShape>;
}

const METHODS = ["get", "put", "post", "delete", "patch"];

const typeName = (view: SchemaView) =>
  view.types === undefined ? "any" : view.types.length === 0 ? "null" : view.types.join(" | ");

/** Every field under `where`, by dotted path; fields of allOf/oneOf/anyOf members count as the object's own. */
function flatten(
  doc: OpenApiDocument,
  where: SchemaAt,
  prefix: string,
  required: boolean,
  out: Map<string, FieldShape>,
) {
  const view = viewSchema(doc, where);
  if (prefix !== "") out.set(prefix, { type: typeName(view), nullable: view.nullable, required, enum: view.enum });
  for (const [name, property] of view.properties) {
    flatten(doc, property, prefix ? `${prefix}.${name}` : name, view.required.includes(name), out);
  }
  if (view.items) flatten(doc, view.items, `${prefix}[]`, true, out);
}

function jsonSchemaOf(doc: OpenApiDocument, holder: unknown): SchemaAt {
  const content = deref(doc, holder);
  const media = isObject(content) ? jsonMedia(content.content) : undefined;
  return schemaAt(isObject(media) ? media.schema : undefined);
}

function shapes(doc: OpenApiDocument): Map<string, OperationShape> {
  const result = new Map<string, OperationShape>();
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op) || typeof op.operationId !== "string") continue;
      const request = new Map<string, FieldShape>();
      const parameters = Array.isArray(op.parameters) ? op.parameters : [];
      for (const raw of parameters) {
        const p = deref(doc, raw);
        if (!isObject(p) || (p.in !== "path" && p.in !== "query")) continue;
        flatten(doc, schemaAt(p.schema), String(p.name), p.required === true, request);
      }
      flatten(doc, jsonSchemaOf(doc, op.requestBody), "", false, request);
      const response = new Map<string, FieldShape>();
      const responses = isObject(op.responses) ? op.responses : {};
      const success = Object.keys(responses).find((status) => status.startsWith("2"));
      if (success) flatten(doc, jsonSchemaOf(doc, responses[success]), "", false, response);
      result.set(op.operationId, { key: `${method.toUpperCase()} ${route}`, request, response });
    }
  }
  return result;
}

const describeType = (shape: FieldShape) => `${shape.type}${shape.nullable ? " | null" : ""}`;

function compareFields(
  operation: string,
  where: "request" | "response",
  before: Map<string, FieldShape>,
  after: Map<string, FieldShape>,
): SpecChange[] {
  const changes: SpecChange[] = [];
  const inRequest = where === "request";
  const add = (field: string, kind: SpecChange["kind"], detail: string, breaking: boolean) =>
    changes.push({ operation, where, field, kind, detail, breaking });
  for (const [field, old] of before) {
    const now = after.get(field);
    if (!now) {
      // Callers that send it no longer compile; callers that read it get nothing.
      if (!field.endsWith("[]")) add(field, "field-removed", `${describeType(old)} removed`, true);
      continue;
    }
    if (old.type !== now.type) add(field, "type-changed", `${old.type} → ${now.type}`, true);
    if (!old.required && now.required) add(field, "now-required", "became required", inRequest);
    if (old.required && !now.required) add(field, "now-optional", "became optional", !inRequest);
    if (!old.nullable && now.nullable) add(field, "now-nullable", "may now be null", !inRequest);
    if (old.nullable && !now.nullable) add(field, "no-longer-nullable", "may no longer be null", inRequest);
    const oldValues = old.enum ?? [];
    const newValues = now.enum ?? [];
    for (const value of oldValues.filter((v) => !newValues.includes(v))) {
      // A request value callers may send is gone; a response value simply stops appearing.
      add(field, "enum-value-removed", `enum value "${value}" removed`, inRequest && now.enum !== undefined);
    }
    for (const value of newValues.filter((v) => !oldValues.includes(v))) {
      add(field, "enum-value-added", `enum value "${value}" added`, false);
    }
  }
  for (const [field, now] of after) {
    if (before.has(field) || field.endsWith("[]")) continue;
    const required = inRequest && now.required;
    add(field, "field-added", `${describeType(now)}${required ? ", required" : ""} added`, required);
  }
  return changes;
}

export function diffSpecs(before: OpenApiDocument, after: OpenApiDocument): SpecChange[] {
  const old = shapes(before);
  const now = shapes(after);
  const changes: SpecChange[] = [];
  const removed = [...old.keys()].filter((id) => !now.has(id));
  const added = [...now.keys()].filter((id) => !old.has(id));
  for (const id of removed) {
    const shape = old.get(id) as OperationShape;
    // Same method and path under a new id: a rename, which breaks the generated names.
    const renamedTo = added.find((candidate) => now.get(candidate)?.key === shape.key);
    if (renamedTo) {
      changes.push({
        operation: id,
        where: "operation",
        field: "",
        kind: "operation-renamed",
        detail: `${shape.key} renamed to ${renamedTo}`,
        breaking: true,
      });
      const renamed = now.get(renamedTo) as OperationShape;
      changes.push(...compareFields(renamedTo, "request", shape.request, renamed.request));
      changes.push(...compareFields(renamedTo, "response", shape.response, renamed.response));
      added.splice(added.indexOf(renamedTo), 1);
      continue;
    }
    changes.push({
      operation: id,
      where: "operation",
      field: "",
      kind: "operation-removed",
      detail: `${shape.key} removed`,
      breaking: true,
    });
  }
  for (const id of added) {
    changes.push({
      operation: id,
      where: "operation",
      field: "",
      kind: "operation-added",
      detail: `${now.get(id)?.key} added`,
      breaking: false,
    });
  }
  for (const [id, shape] of old) {
    const next = now.get(id);
    if (!next) continue;
    changes.push(...compareFields(id, "request", shape.request, next.request));
    changes.push(...compareFields(id, "response", shape.response, next.response));
  }
  return changes;
}

function line(change: SpecChange): string {
  const field = change.field ? ` ${change.where} ${codeSpan(change.field)}:` : ":";
  return `- ${codeSpan(change.operation)}${field} ${markdownText(change.detail)}`;
}

/**
 * Markdown: fit for a terminal and for a pull request body. Every name and value from the spec is
 * escaped (scripts/lib/escape.ts): names in code spans, details as plain text.
 */
export function formatSummary(changes: SpecChange[], from: string): string {
  const source = codeSpan(from);
  if (changes.length === 0) return `No changes to the Roles operations from ${source}.`;
  const breaking = changes.filter((c) => c.breaking);
  const other = changes.filter((c) => !c.breaking);
  const parts = [`${changes.length} change(s) to the Roles operations from ${source}, ${breaking.length} breaking.`];
  if (breaking.length > 0) parts.push("", "### Breaking for callers", ...breaking.map(line));
  if (other.length > 0) parts.push("", "### Other changes", ...other.map(line));
  return parts.join("\n");
}
