// Every answer the fake gives is checked against the spec's own response schemas (ajv), tightened
// so that a field the spec does not list fails as well as a missing or mistyped one; error answers
// must be the API's `{ code, message }`. The fake cannot drift from the document it ships with.
import { readFileSync } from "node:fs";
import path from "node:path";
import { Ajv, type ErrorObject } from "ajv";
import { describe, expect, it } from "vitest";
import YAML from "yaml";
import { createClient, type OperationId } from "../src/index.ts";
import { createFakePlanetScale, type FakePlanetScale } from "../src/testing/index.ts";
import { BRANCH } from "./support/fixtures.ts";
import { ROOT } from "./support/run.ts";

type Schema = Record<string, unknown>;
interface SpecOperation {
  operationId: string;
  responses: Record<string, { content?: { "application/json"?: { schema: Schema; example?: unknown } } }>;
}

const spec = YAML.parse(readFileSync(path.join(ROOT, "openapi/planetscale.yaml"), "utf8")) as {
  paths: Record<string, Record<string, SpecOperation>>;
};
const specOperations = new Map<string, SpecOperation>(
  Object.values(spec.paths).flatMap((item) => Object.values(item).map((op) => [op.operationId, op] as const)),
);

/** The spec's schema with every object closed: a field the spec does not list is drift too. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== "object" || schema === null) return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, closed(value)]));
  return "properties" in copy ? { ...copy, additionalProperties: false } : copy;
}

// The API's error body, from PlanetScale's documented behaviour (the spec gives error answers no body).
const ERROR_BODY = {
  type: "object",
  properties: { code: { type: "string" }, message: { type: "string" } },
  required: ["code", "message"],
  additionalProperties: false,
};

const ajv = new Ajv({ allErrors: true });
ajv.addKeyword("example");

interface Answer {
  operation: OperationId | undefined;
  status: number;
  contentType: string | null;
  body: string;
}

function problemsWith(answer: Answer): string[] {
  const where = `${answer.operation ?? "no operation"} ${answer.status}`;
  const parse = () => (answer.body === "" ? undefined : JSON.parse(answer.body));
  const check = (schema: unknown): string[] => {
    const validate = ajv.compile(closed(schema) as Schema);
    if (validate(parse())) return [];
    return (validate.errors ?? []).map((error: ErrorObject) => `${where}: ${error.instancePath} ${error.message}`);
  };
  if (answer.status >= 400) return check(ERROR_BODY);
  const declared = specOperations.get(answer.operation ?? "")?.responses[String(answer.status)];
  if (!declared) return [`${where}: the spec lists no such answer`];
  const schema = declared.content?.["application/json"]?.schema;
  if (!schema) return answer.body === "" ? [] : [`${where}: a body where the spec has none`];
  if (!answer.contentType?.startsWith("application/json")) return [`${where}: content-type ${answer.contentType}`];
  return check(schema);
}

/** The fake's fetch, keeping a copy of every answer it gives. */
function recording(fake: FakePlanetScale): { fetch: typeof fetch; answers: Answer[] } {
  const answers: Answer[] = [];
  const fetchAndKeep = async (input: RequestInfo | URL, init?: RequestInit) => {
    const response = await fake.fetch(input, init);
    answers.push({
      operation: fake.requests.at(-1)?.operation,
      status: response.status,
      contentType: response.headers.get("content-type"),
      body: await response.clone().text(),
    });
    return response;
  };
  return { fetch: fetchAndKeep as typeof fetch, answers };
}

async function everyKindOfAnswer(fake: FakePlanetScale, fetch: FakePlanetScale["fetch"]): Promise<void> {
  const ps = createClient({ fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken, maxRetries: 0 });
  const first = await ps.createRole({ ...BRANCH, name: "ci-reader", ttl: 3600, inherited_roles: ["pg_read_all_data"] });
  for (const name of ["app", "migrations", "ci-writer"]) await ps.createRole({ ...BRANCH, name });
  for await (const role of ps.listAllRoles({ ...BRANCH, per_page: 3 })) void role;
  await ps.listRoles({ ...BRANCH, page: 9, q: "ci", status: "active" });
  const one = { ...BRANCH, id: first.id };
  await ps.getRole(one);
  await ps.updateRole({ ...one, name: "ci-reader-2", require_where_on_update: "on" });
  await ps.renewRole(one);
  await ps.resetRole(one);
  await ps.reassignRoleObjects({ ...one, successor: "app" });
  await ps.getDefaultRole(BRANCH);
  await ps.resetDefaultRole(BRANCH);
  await ps.deleteRole({ ...one, successor: "app" });
  // And the errors: unknown id, wrong token, refused input, injected faults, unknown route.
  await ps.getRole(one).catch(() => {});
  await createClient({ fetch, baseUrl: fake.baseUrl, serviceToken: "someone:else" })
    .getDefaultRole(BRANCH)
    .catch(() => {});
  const roles = `${fake.baseUrl}/organizations/acme/databases/app-db/branches/main/roles`;
  const auth = { authorization: `${fake.serviceToken.id}:${fake.serviceToken.token}` };
  await fetch(roles, { method: "POST", headers: auth, body: JSON.stringify({ ttl: -1 }) });
  fake.failNext("list_roles", { status: 503 });
  await ps.listRoles(BRANCH).catch(() => {});
  fake.failNext("create_role", { retryAfter: 3 });
  await ps.createRole(BRANCH).catch(() => {});
  await fetch(`${fake.baseUrl}/organizations/acme`, { headers: auth });
}

describe("the fake's answers match the spec", () => {
  it("for every operation, pages and errors included", async () => {
    const fake = createFakePlanetScale();
    const { fetch, answers } = recording(fake);
    await everyKindOfAnswer(fake, fetch);
    const succeeded = new Set(answers.filter((answer) => answer.status < 300).map((answer) => answer.operation));
    expect([...succeeded].sort()).toEqual([...specOperations.keys()].sort());
    expect(new Set(answers.map((answer) => answer.status))).toEqual(new Set([200, 204, 401, 404, 422, 429, 503]));
    expect(answers.length).toBeGreaterThan(15);
    expect(answers.flatMap(problemsWith)).toEqual([]);
  });

  it("the check catches a field added, a field dropped, a wrong type and a bare error", async () => {
    const fake = createFakePlanetScale();
    const { fetch, answers } = recording(fake);
    const ps = createClient({ fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
    await ps.createRole(BRANCH);
    await ps.listRoles(BRANCH);
    const [created, page] = answers as [Answer, Answer];
    const role = JSON.parse(created.body);
    const { password: _dropped, ...withoutPassword } = role;
    const drifted = [
      { ...created, body: JSON.stringify({ ...role, region: "us-east" }) },
      { ...created, body: JSON.stringify(withoutPassword) },
      { ...page, body: JSON.stringify({ ...JSON.parse(page.body), next_page: "2" }) },
      { ...page, status: 404, body: JSON.stringify({ error: "not found" }) },
    ];
    expect(problemsWith(created)).toEqual([]);
    for (const answer of drifted) expect(problemsWith(answer)).not.toEqual([]);
  });

  it("as do the spec's own examples, which the Prism mock answers with", () => {
    const examples: Answer[] = [...specOperations.values()].flatMap((op) =>
      Object.entries(op.responses).flatMap(([status, response]) => {
        const media = response.content?.["application/json"];
        if (!media) return [];
        const body = JSON.stringify(media.example);
        return [
          { operation: op.operationId as OperationId, status: Number(status), contentType: "application/json", body },
        ];
      }),
    );
    expect(examples).toHaveLength(8);
    expect(examples.flatMap(problemsWith)).toEqual([]);
  });
});
