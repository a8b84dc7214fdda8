// What a person sees when they print what the client returns or throws: secrets masked, everything
// else readable, and text from the server escaped so that it cannot drive a terminal.
import { inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AuthenticationError, createClient } from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { json, startServer, type TestServer } from "./support/servers.ts";

let server: TestServer;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => server.reset());

describe("a printed role", () => {
  it("shows everything but the password: the username, the host and the inherited roles as a list", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
    const shown = inspect(await ps.createRole(BRANCH));
    expect(shown).toContain("username: 'ci_reader.abc123'");
    expect(shown).toContain("access_host_url: 'aws.connect.psdb.cloud'");
    expect(shown).toContain("inherited_roles: [ 'pg_read_all_data' ]");
    expect(shown).toContain("password: '[redacted]'");
    expect(shown).not.toContain(roleFixture().password);
  });

  it("shows a role printed inside another object with its nested fields, still masked", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
    const role = await ps.createRole(BRANCH);
    const shown = inspect({ response: { role } });
    expect(shown).toContain("branch: {");
    expect(shown).toContain("id: 'br-1'");
    expect(shown).toContain("password: '[redacted]'");
  });

  it("shows a listed role's blank password as blank: there is nothing to hide", async () => {
    const listed = { ...roleFixture(), password: "" };
    server.next(json(200, pageFixture({ data: [listed] })));
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
    const page = await ps.listRoles(BRANCH);
    const shown = inspect(page, { depth: 4 });
    expect(shown).toContain("password: ''");
    expect(shown).toContain("name: 'ci-reader'");
  });

  it("prints a role that the caller linked back to itself, the loop shown as [Circular]", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
    const role = (await ps.createRole(BRANCH)) as object as Record<string, unknown>;
    role.self = role;
    const shown = inspect(role);
    expect(shown).toContain("self: '[Circular]'");
    expect(shown).toContain("password: '[redacted]'");
  });
});

describe("credentials that an error answer echoes", () => {
  it("masks a bare OAuth token, without its Bearer prefix", async () => {
    const token = "oauth-token-4f9a2c";
    server.next(json(401, { code: "unauthorized", message: `token ${token} has expired` }));
    const ps = createClient({ accessToken: token, baseUrl: server.url });
    const error = await failure(ps.getRole({ ...BRANCH, id: "r" }));
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error.message).toContain("token [redacted] has expired");
    expect(error.message).not.toContain(token);
  });

  it("masks the token part of a service token, without its id", async () => {
    server.next(json(401, { code: "unauthorized", message: "secret svc-secret-77 does not belong to svc-id" }));
    const ps = createClient({ serviceToken: "svc-id:svc-secret-77", baseUrl: server.url });
    const error = await failure(ps.getRole({ ...BRANCH, id: "r" }));
    expect(error.apiMessage).toBe("secret [redacted] does not belong to svc-id");
  });
});

describe("server text with control characters", () => {
  it("escapes line breaks as JSON does (\\n) and other controls, separators and bidi overrides as \\uNNNN", async () => {
    server.next(json(409, { code: "conflict", message: "taken\nforged line\u2028next\u202eevil" }));
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
    const error = await failure(ps.createRole({ ...BRANCH, name: "x" }));
    expect(error.apiMessage).toBe("taken\\nforged line\\u2028next\\u202eevil");
  });
});
