// createRole end to end: against Prism (whose request validation is the oracle for what goes on
// the wire) and against a recording server (for exactly which bytes and headers were sent).
import { afterAll, beforeAll, describe, expect, expectTypeOf, inject, it } from "vitest";
import {
  AuthenticationError,
  createClient,
  createRole,
  NotFoundError,
  PermissionDeniedError,
  PlanetScaleError,
  type Role,
  ServerError,
  VERSION,
} from "../src/index.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { json, startServer, type TestServer } from "./support/servers.ts";

const prismUrl = inject("prismUrl");
const params = { ...BRANCH, name: "ci-reader", ttl: 3600, inherited_roles: ["pg_read_all_data" as const] };

/** A fetch that asks Prism for a given status (Prism's `Prefer: code=…`). */
const preferring =
  (status: number): typeof fetch =>
  (input, init) => {
    const request = new Request(input as Request, init);
    request.headers.set("Prefer", `code=${status}`);
    return fetch(request);
  };

describe("createRole against Prism", () => {
  it("creates a role with a service token sent as <id>:<token>", async () => {
    const ps = createClient({ serviceToken: { id: "svc-id", token: "svc-secret" }, baseUrl: prismUrl });
    const role = await ps.createRole(params);
    expect(typeof role.username).toBe("string");
    expect(typeof role.password).toBe("string");
    expect(typeof role.access_host_url).toBe("string");
    expect(Array.isArray(role.inherited_roles)).toBe(true);
    expectTypeOf(role).toEqualTypeOf<Role>();
    expectTypeOf(role.password).toEqualTypeOf<string>();
    expectTypeOf(role.expires_at).toEqualTypeOf<string | null>();
  });

  it("creates a role with an OAuth access token sent as Bearer", async () => {
    const ps = createClient({ accessToken: "oauth-token", baseUrl: prismUrl });
    const role = await ps.createRole({ ...BRANCH, require_where_on_delete: "on", with_replication: true });
    expect(typeof role.id).toBe("string");
  });

  it("accepts the service token as one id:token string", async () => {
    const ps = createClient({ serviceToken: "svc-id:svc-secret", baseUrl: prismUrl });
    await expect(ps.createRole(BRANCH)).resolves.toHaveProperty("password");
  });

  it("reads credentials and the base URL from the environment for the standalone createRole", async () => {
    const saved = { ...process.env };
    try {
      process.env.PLANETSCALE_SERVICE_TOKEN_ID = "env-id";
      process.env.PLANETSCALE_SERVICE_TOKEN = "env-secret";
      process.env.PLANETSCALE_API_URL = prismUrl;
      const role = await createRole(params);
      expect(typeof role.password).toBe("string");
    } finally {
      process.env = saved;
    }
  });

  it("rejects, never throws, when the standalone createRole finds no usable credentials or base URL", async () => {
    const saved = { ...process.env };
    try {
      for (const name of ["PLANETSCALE_SERVICE_TOKEN_ID", "PLANETSCALE_SERVICE_TOKEN", "PLANETSCALE_ACCESS_TOKEN"]) {
        delete process.env[name];
      }
      // A caller's .catch() must see the refusal: a throw would escape it.
      let call: Promise<unknown> | undefined;
      expect(() => {
        call = createRole(params);
      }).not.toThrow();
      await expect(call).rejects.toThrow(/no PlanetScale credentials/);
      process.env.PLANETSCALE_SERVICE_TOKEN_ID = "env-id";
      process.env.PLANETSCALE_SERVICE_TOKEN = "env-secret";
      process.env.PLANETSCALE_API_URL = "http://10.0.0.1/v1";
      await expect(createRole(params).withResponse()).rejects.toThrow(/plain http to 10\.0\.0\.1/);
    } finally {
      process.env = saved;
    }
  });

  it("waits out a 429's Retry-After within the standalone createRole, whose one call has no gate", async () => {
    const server = await startServer(json(200, roleFixture()));
    const saved = { ...process.env };
    try {
      process.env.PLANETSCALE_SERVICE_TOKEN_ID = "env-id";
      process.env.PLANETSCALE_SERVICE_TOKEN = "env-secret";
      process.env.PLANETSCALE_API_URL = server.url;
      server.next(json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "0" }));
      await expect(createRole(params)).resolves.toHaveProperty("password");
      expect(server.requests).toHaveLength(2);
    } finally {
      process.env = saved;
      await server.close();
    }
  });

  it("gets 401 from Prism when no credentials are sent, which shows Prism checks them", async () => {
    const withoutAuth: typeof fetch = (input, init) => {
      const request = new Request(input as Request, init);
      request.headers.delete("Authorization");
      return fetch(request);
    };
    const ps = createClient({ serviceToken: "a:b", baseUrl: prismUrl, fetch: withoutAuth });
    await expect(ps.createRole(BRANCH)).rejects.toBeInstanceOf(AuthenticationError);
  });

  it.each([
    [401, AuthenticationError],
    [403, PermissionDeniedError],
    [404, NotFoundError],
    [500, ServerError],
  ])("maps a %i answer to %o with the status and the operation", async (status, ErrorClass) => {
    const ps = createClient({ serviceToken: "a:b", baseUrl: prismUrl, fetch: preferring(status), maxRetries: 0 });
    const error = await ps.createRole(params).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ErrorClass);
    expect(error).toBeInstanceOf(PlanetScaleError);
    expect(error).toMatchObject({ status, operation: "create_role" });
    expect((error as Error).message).toContain(String(status));
  });

  it("names the accesses and scopes create_role needs in a 403", async () => {
    const ps = createClient({ serviceToken: "a:b", baseUrl: prismUrl, fetch: preferring(403) });
    const error = (await ps.createRole(params).catch((e: unknown) => e)) as PermissionDeniedError;
    expect(error.serviceTokenAccesses).toContain("create_branch_password");
    expect(error.oauthScopes.branch).toContain("manage_passwords");
    expect(error.message).toContain("create_production_branch_password");
  });
});

describe("createRole on the wire", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(json(200, roleFixture()));
  });
  afterAll(() => server.close());

  it("sends exactly the fields passed, to the branch's roles path, with the documented headers", async () => {
    const ps = createClient({
      serviceToken: { id: "svc-id", token: "svc-secret" },
      baseUrl: server.url,
      userAgent: "my-ci/2",
    });
    const role = await ps.createRole(params);
    const sent = server.requests.at(-1);
    expect(sent?.method).toBe("POST");
    expect(sent?.url).toBe("/organizations/acme/databases/app-db/branches/main/roles");
    expect(JSON.parse(sent?.body ?? "")).toEqual({
      name: "ci-reader",
      ttl: 3600,
      inherited_roles: ["pg_read_all_data"],
    });
    expect(sent?.headers.authorization).toBe("svc-id:svc-secret");
    expect(sent?.headers.accept).toBe("application/json");
    expect(sent?.headers["content-type"]).toBe("application/json");
    expect(sent?.headers["user-agent"]).toBe(`planetscale-roles/${VERSION} my-ci/2`);
    expect(role).toEqual(roleFixture());
  });

  it("reports the version package.json declares", async () => {
    const { readFile } = await import("node:fs/promises");
    const manifest = JSON.parse(await readFile(new URL("../package.json", import.meta.url), "utf8"));
    expect(VERSION).toBe(manifest.version);
  });

  it("sends an OAuth token as Bearer", async () => {
    await createClient({ accessToken: "oauth-token", baseUrl: server.url }).createRole(BRANCH);
    expect(server.requests.at(-1)?.headers.authorization).toBe("Bearer oauth-token");
  });

  it("prefers PLANETSCALE_SERVICE_TOKEN_ID/PLANETSCALE_SERVICE_TOKEN over PLANETSCALE_ACCESS_TOKEN", async () => {
    const env = {
      PLANETSCALE_SERVICE_TOKEN_ID: "env-id",
      PLANETSCALE_SERVICE_TOKEN: "env-secret",
      PLANETSCALE_ACCESS_TOKEN: "env-oauth",
      PLANETSCALE_API_URL: server.url,
    };
    await createClient({ env }).createRole(BRANCH);
    expect(server.requests.at(-1)?.headers.authorization).toBe("env-id:env-secret");
    await createClient({ env: { PLANETSCALE_ACCESS_TOKEN: "env-oauth", PLANETSCALE_API_URL: server.url } }).createRole(
      BRANCH,
    );
    expect(server.requests.at(-1)?.headers.authorization).toBe("Bearer env-oauth");
  });

  it("refuses to build a client without credentials, naming where they come from", () => {
    expect(() => createClient({ env: {} })).toThrow(/PLANETSCALE_SERVICE_TOKEN_ID/);
  });

  it("uses the API's code and message from a {code, message} error body", async () => {
    server.next(json(404, { code: "not_found", message: "Branch main not found" }, { "x-request-id": "req-42" }));
    const error = await createClient({ serviceToken: "a:b", baseUrl: server.url })
      .createRole(BRANCH)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: "not_found", apiMessage: "Branch main not found", requestId: "req-42" });
    expect((error as Error).message).toContain("Branch main not found");
  });

  it("gives a clear message when an error body is not JSON", async () => {
    server.next((_req, res) => {
      res.writeHead(500, { "content-type": "text/html" });
      res.end("<html>Bad gateway</html>");
    });
    const error = await createClient({ serviceToken: "a:b", baseUrl: server.url, maxRetries: 0 })
      .createRole(BRANCH)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).code).toBeUndefined();
    expect((error as Error).message).toMatch(/create_role failed: 500/);
  });
});
