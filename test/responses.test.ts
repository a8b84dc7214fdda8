// Answers the client cannot use keep their raw body; answers with more than the spec lists pass through.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, type PlanetScaleClient, UnexpectedResponseError } from "../src/index.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { json, startServer, type TestServer, truncated } from "./support/servers.ts";

let server: TestServer;
let ps: PlanetScaleClient;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
  ps = createClient({ serviceToken: "a:b", baseUrl: server.url });
});
afterAll(() => server.close());

async function unusable(): Promise<UnexpectedResponseError> {
  const error = await ps.createRole(BRANCH).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(UnexpectedResponseError);
  expect(server.requests.filter((r) => r.method === "POST").length).toBeGreaterThan(0);
  return error as UnexpectedResponseError;
}

describe("a 2xx create answer the client cannot use", () => {
  it("that is not JSON keeps its raw body", async () => {
    server.next(json(200, "<html>password: hunter2</html>"));
    const error = await unusable();
    expect(error.body).toBe("<html>password: hunter2</html>");
    expect(error.message).toMatch(/not JSON.*error\.body/);
  });

  it("that breaks off keeps what arrived", async () => {
    const partial = JSON.stringify(roleFixture()).slice(0, 300);
    server.next(truncated(partial));
    const error = await unusable();
    expect(error.body).toBe(partial);
    expect(error.body).toContain(roleFixture().password);
    expect(error.message).toContain("broke off");
  });

  it("that lacks the credentials keeps its raw body", async () => {
    const { password: _password, ...withoutPassword } = roleFixture();
    server.next(json(200, withoutPassword));
    const error = await unusable();
    expect(error.message).toContain("without password");
    expect(JSON.parse(error.body)).toEqual(withoutPassword);
  });

  it("that is JSON but not an object keeps its raw body", async () => {
    server.next(json(200, "[1,2]"));
    expect((await unusable()).body).toBe("[1,2]");
  });
});

describe("what the spec does not list passes through", () => {
  it("keeps unknown fields and enum values such as pscale_managed", async () => {
    server.next(
      json(200, {
        ...roleFixture(),
        inherited_roles: ["pscale_managed", "pg_read_all_data"],
        region: "us-east",
        query_safety_settings: { require_where_on_delete: "strict", require_where_on_update: "off" },
      }),
    );
    const role = await ps.createRole(BRANCH);
    expect(role.inherited_roles).toEqual(["pscale_managed", "pg_read_all_data"]);
    expect((role as unknown as { region: string }).region).toBe("us-east");
    expect(role.query_safety_settings.require_where_on_delete).toBe("strict");
  });
});
