// Bad input is refused before anything is sent, with a message naming the field and what is allowed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operations } from "../src/generated/operations.ts";
import { createClient, INHERITED_ROLES, InvalidRequestError, type PlanetScaleClient } from "../src/index.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { checkValue } from "../src/validate.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { json, startServer, type TestServer } from "./support/servers.ts";

let server: TestServer;
let ps: PlanetScaleClient;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
  ps = createClient({ serviceToken: "a:b", baseUrl: server.url });
});
afterAll(() => server.close());

// Each row: what is passed (as a caller without types might), the field blamed, and the allowed values named.
const badCreates: [string, unknown, string, RegExp][] = [
  ["a missing organization", { database: "app-db", branch: "main" }, "organization", /given/],
  ["an empty database", { ...BRANCH, database: "" }, "database", /non-empty/],
  ["a branch that climbs up the path", { ...BRANCH, branch: ".." }, "branch", /single path segment/],
  ["a branch with a slash", { ...BRANCH, branch: "main/roles/x" }, "branch", /single path segment/],
  ["an organization with a query", { ...BRANCH, organization: "acme?x=1" }, "organization", /single path segment/],
  ["an encoded slash", { ...BRANCH, branch: "a%2Fb" }, "branch", /single path segment/],
  ["a numeric branch", { ...BRANCH, branch: 7 }, "branch", /a string/],
  ["a string ttl", { ...BRANCH, ttl: "3600" }, "ttl", /an integer/],
  ["a fractional ttl", { ...BRANCH, ttl: 1.5 }, "ttl", /an integer/],
  ["a negative ttl", { ...BRANCH, ttl: -1 }, "ttl", /non-negative/],
  ["an unsafe ttl", { ...BRANCH, ttl: 2 ** 60 }, "ttl", /an integer/],
  ["NaN ttl", { ...BRANCH, ttl: Number.NaN }, "ttl", /an integer/],
  [
    "an unknown inherited role",
    { ...BRANCH, inherited_roles: ["pg_read_all_data", "pg_superuser"] },
    "inherited_roles[1]",
    /one of pg_checkpoint, .*postgres/,
  ],
  ["inherited roles as a string", { ...BRANCH, inherited_roles: "pg_monitor" }, "inherited_roles", /an array/],
  ["an empty name", { ...BRANCH, name: "  " }, "name", /non-empty/],
  [
    "require_where_on_delete outside off/warn/on",
    { ...BRANCH, require_where_on_delete: "always" },
    "require_where_on_delete",
    /one of off, warn, on/,
  ],
  ["with_replication as a string", { ...BRANCH, with_replication: "yes" }, "with_replication", /true or false/],
  [
    "an unknown field",
    { ...BRANCH, inheritedRoles: ["pg_monitor"] },
    "inheritedRoles",
    /allowed: organization, database, branch, name, ttl/,
  ],
  ["params that are not an object", "acme/app-db/main", "params", /plain object/],
  ["params that are an array", [BRANCH], "params", /plain object/],
  ["params that are a class instance", new Date(), "params", /plain object/],
];

describe("createRole refuses bad input before sending", () => {
  it.each(badCreates)("refuses %s", async (_name, params, field, allowed) => {
    const before = server.requests.length;
    const error = await ps.createRole(params as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field, operation: "create_role" });
    expect((error as Error).message).toContain(field);
    expect((error as Error).message).toMatch(allowed);
    expect(server.requests.length).toBe(before);
  });

  it("checks inherited roles against the generated enum list", async () => {
    const allowed = operations.create_role.body.fields.inherited_roles.items.enum;
    expect(allowed).toContain("pg_read_all_data");
    expect(INHERITED_ROLES).toEqual(allowed);
    await ps.createRole({ ...BRANCH, inherited_roles: [...allowed] });
    expect(JSON.parse(server.requests.at(-1)?.body ?? "").inherited_roles).toEqual(allowed);
  });

  it("accepts ttl 0 and leaves undefined fields out of the body", async () => {
    await ps.createRole({ ...BRANCH, ttl: 0, name: undefined });
    expect(JSON.parse(server.requests.at(-1)?.body ?? "")).toEqual({ ttl: 0 });
  });

  it("refuses bad request options", async () => {
    await expect(ps.createRole(BRANCH, { timeoutMs: 0 })).rejects.toThrow(
      /timeoutMs must be a number from 1 to 2147483647/,
    );
    await expect(ps.createRole(BRANCH, { maxRetries: -1 })).rejects.toThrow(
      /maxRetries must be an integer of 0 or more/,
    );
  });

  it("refuses bad client options", () => {
    expect(() => createClient({ serviceToken: "no-colon" })).toThrow(/serviceToken must be "<id>:<token>"/);
    expect(() => createClient({ serviceToken: { id: "", token: "t" } })).toThrow(/serviceToken.id/);
    expect(() => createClient({ serviceToken: "a:b", accessToken: "c" })).toThrow(/not both/);
    expect(() => createClient({ serviceToken: "a:b", timeoutMs: -5 })).toThrow(/timeoutMs/);
    expect(() => createClient({ serviceToken: "a:b", baseUrl: "not a url" })).toThrow(/baseUrl must be an absolute/);
  });
});

describe("every operation checks its path parameters", () => {
  it.each([
    ["getRole", { ...BRANCH, id: "../default" }],
    ["deleteRole", { ...BRANCH, id: "" }],
    ["renewRole", { ...BRANCH }],
    ["listRoles", { ...BRANCH, page: 0 }],
    ["reassignRoleObjects", { ...BRANCH, id: "r1" }],
  ] as const)("%s refuses %o", async (method, params) => {
    const before = server.requests.length;
    const call = ps[method] as (p: unknown) => Promise<unknown>;
    await expect(call(params)).rejects.toBeInstanceOf(InvalidRequestError);
    expect(server.requests.length).toBe(before);
  });
});

describe("listRoles' status filter", () => {
  it("refuses a status PlanetScale does not know, naming the four it does, with nothing sent", async () => {
    const fake = createFakePlanetScale();
    const client = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
    const error = await client.listRoles({ ...BRANCH, status: "bogus" as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field: "status", operation: "list_roles" });
    expect((error as Error).message).toMatch(/status.*one of active, renewable, disabled, expired/);
    expect(fake.requests).toEqual([]);
  });

  it("sends each of the four", async () => {
    const fake = createFakePlanetScale();
    const client = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
    for (const status of ["active", "renewable", "disabled", "expired"] as const) {
      await client.listRoles({ ...BRANCH, status });
    }
    expect(fake.requests.map((request) => request.query.status)).toEqual([
      "active",
      "renewable",
      "disabled",
      "expired",
    ]);
  });
});

describe("field schemas that composed specs produce", () => {
  it("accepts anything for type any, only null for type null, and any member of a union", () => {
    expect(() => checkValue("op", "f", { type: "any" }, { nested: [1] })).not.toThrow();
    expect(() => checkValue("op", "f", { type: "null", nullable: true }, null)).not.toThrow();
    expect(() => checkValue("op", "f", { type: "null", nullable: true }, 0)).toThrow(/f must be null; got 0/);
    const union = { type: "union", anyOf: [{ type: "string" }, { type: "integer" }] };
    expect(() => checkValue("op", "f", union, "x")).not.toThrow();
    expect(() => checkValue("op", "f", union, 3)).not.toThrow();
    expect(() => checkValue("op", "f", union, true)).toThrow(
      expect.objectContaining({
        name: "InvalidRequestError",
        field: "f",
        message: expect.stringMatching(/one of: string, integer/),
      }),
    );
  });
});
