// The spec tools on schemas as real-world documents write them: $ref (also to itself), allOf /
// oneOf / anyOf, and OpenAPI 3.1's type lists. Each document here is small and made for its case.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { render } from "../scripts/lib/generate.ts";
import { describeOperations, operationFacts } from "../scripts/lib/operations.ts";
import { type OpenApiDocument, parseDocument } from "../scripts/lib/spec.ts";
import { diffSpecs, formatSummary } from "../scripts/lib/spec-diff.ts";
import { operations } from "../src/generated/operations.ts";
import { ROOT, tempDir } from "./support/run.ts";

/** One Roles-tagged POST /things, with the given request body and 200 answer schemas. */
function document(
  schemas: Record<string, unknown>,
  body: { schema: unknown } | { $ref: string } | undefined,
  response: unknown,
  version = "3.0.1",
  requestBodies: Record<string, unknown> = {},
): OpenApiDocument {
  const requestBody = body && "$ref" in body ? body : body && { content: { "application/json": body } };
  return {
    openapi: version,
    info: { title: "things", version: "1" },
    paths: {
      "/things": {
        post: {
          tags: ["Roles"],
          operationId: "create_thing",
          ...(requestBody ? { requestBody } : {}),
          responses: { "200": { description: "ok", content: { "application/json": { schema: response } } } },
        },
      },
    },
    components: { schemas, requestBodies },
  };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const fieldsOf = (doc: OpenApiDocument) => operationFacts(doc).create_thing?.body;

describe("the change summary on real-world schemas", () => {
  it("ends on a self-referencing schema and names the field added beside the recursion", () => {
    const node = (extra: Record<string, unknown>) => ({
      Node: {
        type: "object",
        properties: { name: { type: "string" }, children: { type: "array", items: ref("Node") }, ...extra },
      },
    });
    const before = document(node({}), undefined, ref("Node"));
    const after = document(node({ label: { type: "string" } }), undefined, ref("Node"));
    expect(diffSpecs(before, after)).toEqual([
      {
        operation: "create_thing",
        where: "response",
        field: "label",
        kind: "field-added",
        detail: "string added",
        breaking: false,
      },
    ]);
  });

  it("ends on schemas that refer to each other, naming the field added one level down", () => {
    const pair = (extra: Record<string, unknown>) => ({
      Role: { type: "object", properties: { owner: ref("Owner") } },
      Owner: { type: "object", properties: { roles: { type: "array", items: ref("Role") }, ...extra } },
    });
    const before = document(pair({}), undefined, ref("Role"));
    const after = document(pair({ email: { type: "string" } }), undefined, ref("Role"));
    expect(diffSpecs(before, after)).toEqual([expect.objectContaining({ field: "owner.email", kind: "field-added" })]);
  });

  it("names request fields inside allOf, oneOf and anyOf members, and calls a removed one breaking", () => {
    const body = (backupExtra: Record<string, unknown>, keepTtl: boolean) => ({
      schema: {
        allOf: [
          ref("Base"),
          {
            type: "object",
            properties: {
              ...(keepTtl ? { ttl: { type: "integer" } } : {}),
              source: {
                oneOf: [
                  { type: "object", properties: { branch: { type: "string" } } },
                  { type: "object", properties: { backup: { type: "string" }, ...backupExtra } },
                ],
              },
              note: { anyOf: [{ type: "string" }, { type: "object", properties: { text: { type: "string" } } }] },
            },
          },
        ],
      },
    });
    const base = (extra: Record<string, unknown>) => ({
      Base: { type: "object", properties: { name: { type: "string" }, ...extra } },
    });
    const before = document(base({}), body({}, true), { type: "object" });
    const after = document(base({ region: { type: "string" } }), body({ snapshot: { type: "string" } }, false), {
      type: "object",
    });
    const summary = formatSummary(diffSpecs(before, after), "variant");
    expect(summary).toContain("- `create_thing` request `ttl`: integer removed");
    expect(summary).toContain("- `create_thing` request `region`: string added");
    expect(summary).toContain("- `create_thing` request `source.snapshot`: string added");
    expect(summary).toMatch(/### Breaking for callers\n- `create_thing` request `ttl`: integer removed\n\n###/);
  });

  it("reads 3.1 type lists and oneOf with null as nullability, not as a change of type", () => {
    const answer = (name: unknown, note: unknown) => ({ type: "object", properties: { name, note } });
    const before = document({}, undefined, answer({ type: "string" }, { type: "string" }), "3.1.0");
    const after = document(
      {},
      undefined,
      answer({ type: ["string", "null"] }, { oneOf: [{ type: "string" }, { type: "null" }] }),
      "3.1.0",
    );
    expect(diffSpecs(before, after)).toEqual([
      expect.objectContaining({ field: "name", kind: "now-nullable", breaking: true }),
      expect.objectContaining({ field: "note", kind: "now-nullable", breaking: true }),
    ]);
  });
});

describe("the generator on real-world request fields", () => {
  it("follows $ref to the request body, its schema and its fields", () => {
    const doc = document(
      {
        Kind: { type: "string", enum: ["reader", "writer"] },
        ThingInput: {
          type: "object",
          required: ["kind"],
          properties: { kind: ref("Kind"), kinds: { type: "array", items: ref("Kind") } },
        },
      },
      { $ref: "#/components/requestBodies/Thing" },
      { type: "object" },
      "3.0.1",
      { Thing: { content: { "application/json": { schema: ref("ThingInput") } } } },
    );
    const kind = { type: "string", enum: ["reader", "writer"] };
    expect(fieldsOf(doc)).toEqual({ fields: { kind, kinds: { type: "array", items: kind } }, required: ["kind"] });
  });

  it("folds allOf, oneOf and anyOf into one field type, with their enum values and null", () => {
    const doc = document(
      { Seconds: { type: "integer", description: "seconds" } },
      {
        schema: {
          type: "object",
          properties: {
            ttl: { allOf: [ref("Seconds")], description: "Time to live" },
            size: {
              oneOf: [
                { type: "string", enum: ["small"] },
                { type: "string", enum: ["large"] },
              ],
            },
            note: { anyOf: [{ type: "string" }, { type: "null" }] },
            id: { oneOf: [{ type: "string" }, { type: "integer" }] },
          },
        },
      },
      { type: "object" },
    );
    expect(fieldsOf(doc)?.fields).toEqual({
      ttl: { type: "integer" },
      size: { type: "string", enum: ["small", "large"] },
      note: { type: "string", nullable: true },
      id: { type: "union", anyOf: [{ type: "string" }, { type: "integer" }] },
    });
  });

  it("refuses to write a field whose type the runtime has no check for, naming it and what is checked", () => {
    const mixed = { oneOf: [{ type: "string" }, { type: "integer" }] };
    const answer = document({}, undefined, {
      type: "object",
      properties: { data: { type: "array", items: { type: "object", properties: { id: mixed } } } },
    });
    expect(() => describeOperations(answer)).toThrow(
      "create_thing response.data[].id is of type union of string, integer, which src/schema.ts has no check " +
        "for (it checks any, string, integer, boolean, array, object): give it one, with a test, before generating",
    );
    const request = document({}, { schema: { type: "object", properties: { size: { type: "number" } } } }, {});
    expect(() => describeOperations(request)).toThrow(/^create_thing request size is of type number, which/);
    const nothing = document({}, { schema: { type: "object", properties: { gone: { type: "null" } } } }, {});
    expect(() => describeOperations(nothing)).toThrow(/^create_thing request gone is of type null, which/);
    // Enum values of another type than string: the runtime would compare 1 with "1" and refuse it.
    const levels = document(
      {},
      { schema: { type: "object", properties: { lvl: { type: "integer", enum: [1, 2] } } } },
      {},
    );
    expect(() => describeOperations(levels)).toThrow(
      "create_thing request lvl lists enum values for type integer, which src/schema.ts checks only for strings",
    );
    // The same fields, of types the runtime checks, are written.
    const fine = document({}, { schema: { type: "object", properties: { size: { type: "integer" } } } }, {});
    expect(describeOperations(fine)).toContain("create_thing");
  });

  it("reads the JSON answer and body under a media type with parameters or a +json type", () => {
    for (const type of ["application/json; charset=utf-8", "application/vnd.api+json"]) {
      const doc = document({}, undefined, {});
      const post = doc.paths["/things"]?.post as Record<string, unknown>;
      const content = { [type]: { schema: { type: "object", properties: { id: { type: "string" } } } } };
      post.responses = { "201": { description: "made", content } };
      post.requestBody = { content };
      const facts = operationFacts(doc).create_thing;
      expect(facts?.response).toEqual({ type: "object", fields: { id: { type: "string" } } });
      expect(facts?.body?.fields).toEqual({ id: { type: "string" } });
    }
  });

  it("takes the fields and required names of a body composed with allOf", () => {
    const doc = document(
      { Base: { type: "object", required: ["name"], properties: { name: { type: "string" } } } },
      {
        schema: {
          allOf: [ref("Base"), { type: "object", required: ["ttl"], properties: { ttl: { type: "integer" } } }],
        },
      },
      { type: "object" },
    );
    expect(fieldsOf(doc)).toEqual({
      fields: { name: { type: "string" }, ttl: { type: "integer" } },
      required: ["name", "ttl"],
    });
  });

  it("reads OpenAPI 3.1 type lists as a type that may be null", () => {
    const doc = document(
      {},
      {
        schema: {
          type: "object",
          properties: {
            label: { type: ["string", "null"] },
            flags: { type: "array", items: { type: ["boolean", "null"] } },
          },
        },
      },
      { type: "object" },
      "3.1.0",
    );
    expect(fieldsOf(doc)?.fields).toEqual({
      label: { type: "string", nullable: true },
      flags: { type: "array", items: { type: "boolean", nullable: true } },
    });
  });

  it("ends on a self-referencing field, keeping the levels before the recursion", () => {
    const doc = document(
      { Tree: { type: "array", items: ref("Tree") } },
      { schema: { type: "object", properties: { tree: ref("Tree") } } },
      { type: "object" },
    );
    expect(fieldsOf(doc)?.fields).toEqual({ tree: { type: "array", items: { type: "array" } } });
  });

  describe("npm run generate on a 3.1 document with all of these", () => {
    let dir: string;
    let cleanup: () => Promise<void>;
    beforeAll(async () => ({ dir, cleanup } = await tempDir()));
    afterAll(() => cleanup());

    it("writes the types and the operation facts", async () => {
      const doc = document(
        { Kind: { type: "string", enum: ["reader", "writer"] } },
        {
          schema: {
            type: "object",
            properties: {
              kind: ref("Kind"),
              label: { type: ["string", "null"] },
              size: {
                oneOf: [
                  { type: "string", enum: ["small"] },
                  { type: "string", enum: ["large"] },
                ],
              },
            },
          },
        },
        { type: "object", properties: { id: { type: "string" } } },
        "3.1.0",
      );
      const specPath = path.join(dir, "things.json");
      await writeFile(specPath, JSON.stringify(doc));
      const files = await render(specPath);
      expect(files.get("openapi.ts")).toMatch(/label\?: string \| null;/);
      const modulePath = path.join(dir, "facts.ts");
      await writeFile(modulePath, files.get("operations.ts") ?? "");
      const { operations: facts } = await import(pathToFileURL(modulePath).href);
      expect(facts.create_thing.body.fields).toEqual({
        kind: { type: "string", enum: ["reader", "writer"] },
        label: { type: "string", nullable: true },
        size: { type: "string", enum: ["small", "large"] },
      });
    });

    it("writes a field named __proto__ as a field, not as the prototype of its object", async () => {
      const doc = document({}, undefined, {
        type: "object",
        properties: JSON.parse('{"id":{"type":"string"},"__proto__":{"type":"integer"}}'),
        required: ["id", "__proto__"],
      });
      const specPath = path.join(dir, "proto.json");
      await writeFile(specPath, JSON.stringify(doc));
      const modulePath = path.join(dir, "proto.ts");
      await writeFile(modulePath, (await render(specPath)).get("operations.ts") ?? "");
      const { operations } = await import(pathToFileURL(modulePath).href);
      const answer = operations.create_thing.response;
      expect(Object.keys(answer.fields)).toEqual(["id", "__proto__"]);
      expect(answer.required).toEqual(["id", "__proto__"]);
    });

    it("writes an answer that requires all its fields without their names a second time, and still requires each", async () => {
      const partly = { type: "object", properties: { a: { type: "string" }, b: { type: "string" } }, required: ["a"] };
      const doc = document({}, undefined, {
        type: "object",
        properties: { identifier: { type: "string" }, partly },
        required: ["identifier", "partly"],
      });
      const specPath = path.join(dir, "required.json");
      await writeFile(specPath, JSON.stringify(doc));
      const source = (await render(specPath)).get("operations.ts") ?? "";
      // Once as a field; a list of the required names would be the second.
      expect(source.match(/"identifier"/g)).toHaveLength(1);
      const modulePath = path.join(dir, "operations.ts");
      await writeFile(modulePath, source);
      const { operations } = await import(pathToFileURL(modulePath).href);
      const answer = operations.create_thing.response;
      expect(answer.required).toEqual(["identifier", "partly"]);
      // Not every field of this one is required: its own list stays as the spec gives it.
      expect(answer.fields.partly.required).toEqual(["a"]);
    });
  });
});

describe("the operation table the generator writes", () => {
  it("holds every fact of the committed spec, with each long repeat written once", async () => {
    const specPath = path.join(ROOT, "openapi/planetscale.yaml");
    const doc = parseDocument(await readFile(specPath, "utf8"), specPath);
    expect(JSON.parse(JSON.stringify(operations))).toEqual(operationFacts(doc));
    const source = (await render(specPath)).get("operations.ts") ?? "";
    // The roles a role may inherit: in create_role's body and in the answer of every role it returns.
    expect(source.match(/"pg_read_all_data"/g)).toHaveLength(1);
    // The OAuth scopes every operation shares: one table, a list for each of its three levels.
    expect(source.match(/"manage_passwords"/g)).toHaveLength(3);
  });

  it.each(["delete", "get-thing", "x = 1; globalThis.pwned", "Get_Thing"])(
    "refuses operation id %j, which could not name its constant, and writes nothing",
    async (operationId) => {
      const { dir, cleanup } = await tempDir();
      try {
        const doc = document({}, undefined, { type: "object" });
        const post = (doc.paths["/things"] as { post: Record<string, unknown> }).post;
        post.operationId = operationId;
        const specPath = path.join(dir, "odd-id.json");
        await writeFile(specPath, JSON.stringify(doc));
        await expect(render(specPath)).rejects.toThrow(
          `operation id ${JSON.stringify(operationId)} cannot name a constant of src/generated/operations.ts`,
        );
      } finally {
        await cleanup();
      }
    },
  );

  it("names for each path parameter the literal segments other routes have in its place", () => {
    const op = (operationId: string) => ({ get: { tags: ["Roles"], operationId, responses: {} } });
    const doc: OpenApiDocument = {
      openapi: "3.0.1",
      info: { title: "things", version: "1" },
      paths: {
        "/orgs/{org}/things/{id}": op("get_thing"),
        "/orgs/{org}/things/{id}/parts": op("list_parts"),
        "/orgs/{org}/things/latest": op("get_latest"),
        "/orgs/{org}/things/bulk-delete": op("bulk_delete"),
        "/orgs/mine": op("get_mine"),
        "/orgs/mine/{part}": op("get_mine_part"),
        "/elsewhere/{id}": op("get_elsewhere"),
      },
    };
    const facts = operationFacts(doc);
    expect(facts.get_thing?.siblingSegments).toEqual({ org: ["mine"], id: ["bulk-delete", "latest"] });
    expect(facts.list_parts?.siblingSegments).toEqual({ org: ["mine"], id: ["bulk-delete", "latest"] });
    expect(facts.get_latest?.siblingSegments).toEqual({ org: ["mine"] });
    // Its org "mine" is a literal where the others have a parameter: part "things" reaches them.
    expect(facts.get_mine_part?.siblingSegments).toEqual({ part: ["things"] });
    expect(facts.get_elsewhere?.siblingSegments).toEqual({});
  });
});
