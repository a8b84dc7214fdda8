// Turns each operation of the spec into the facts the runtime checks against, written out as a
// TypeScript constant so that no list from the spec is ever typed by hand in src/.
import { isObject, type OpenApiDocument } from "./spec.ts";

const METHODS = ["get", "put", "post", "delete", "patch"] as const;

interface FieldSchema {
  type: string;
  enum?: string[];
  items?: FieldSchema;
  nullable?: true;
}

interface OperationFacts {
  method: string;
  path: string;
  pathParams: string[];
  query: Record<string, FieldSchema>;
  body: { fields: Record<string, FieldSchema>; required: string[] } | null;
  /** The success answer has a JSON body (create, get…), as opposed to a bare 204 (delete…). */
  jsonResponse: boolean;
  serviceTokenAccesses: string[];
  oauthScopes: Record<string, string[]>;
}

function fieldSchema(schema: unknown, where: string): FieldSchema {
  if (!isObject(schema) || typeof schema.type !== "string") {
    throw new Error(`${where}: only inline schemas with a type are supported, found ${JSON.stringify(schema)}`);
  }
  const field: FieldSchema = { type: schema.type };
  if (Array.isArray(schema.enum)) field.enum = schema.enum.map(String);
  if (schema.type === "array") field.items = fieldSchema(schema.items, `${where}[]`);
  if (schema.nullable === true) field.nullable = true;
  return field;
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

export function operationFacts(doc: OpenApiDocument): Record<string, OperationFacts> {
  const facts: Record<string, OperationFacts> = {};
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!isObject(op) || typeof op.operationId !== "string") continue;
      const id = op.operationId;
      const parameters = Array.isArray(op.parameters) ? op.parameters.filter(isObject) : [];
      const query: Record<string, FieldSchema> = {};
      for (const p of parameters.filter((p) => p.in === "query")) {
        query[String(p.name)] = fieldSchema(p.schema, `${id} query ${String(p.name)}`);
      }
      const requestBody = isObject(op.requestBody) ? op.requestBody : undefined;
      const content = isObject(requestBody?.content) ? requestBody.content : {};
      const schema = content["application/json"];
      let body: OperationFacts["body"] = null;
      if (isObject(schema) && isObject(schema.schema)) {
        const properties = isObject(schema.schema.properties) ? schema.schema.properties : {};
        const fields: Record<string, FieldSchema> = {};
        for (const [name, property] of Object.entries(properties)) {
          fields[name] = fieldSchema(property, `${id} body ${name}`);
        }
        const required = Array.isArray(schema.schema.required) ? schema.schema.required.map(String) : [];
        body = { fields, required };
      }
      const responses = isObject(op.responses) ? op.responses : {};
      const jsonResponse = Object.entries(responses).some(
        ([status, answer]) =>
          status.startsWith("2") &&
          isObject(answer) &&
          isObject(answer.content) &&
          "application/json" in answer.content,
      );
      facts[id] = {
        method,
        path: route,
        pathParams: parameters.filter((p) => p.in === "path").map((p) => String(p.name)),
        query,
        body,
        jsonResponse,
        ...parseAuthorization(typeof op.description === "string" ? op.description : ""),
      };
    }
  }
  return facts;
}

export function describeOperations(doc: OpenApiDocument): string {
  const facts = operationFacts(doc);
  const ids = Object.keys(facts).sort();
  const sorted = Object.fromEntries(ids.map((id) => [id, facts[id]]));
  return [
    'import type { operations as Operations } from "./openapi.ts";',
    "",
    '/** The spec\'s operation ids, e.g. "create_role". */',
    "export type OperationId = keyof Operations;",
    "",
    "/** What the spec says about each operation, for the checks and messages at run time. */",
    `export const operations = ${JSON.stringify(sorted, null, 2)} as const satisfies Record<OperationId, unknown>;`,
    "",
  ].join("\n");
}
