// fake.listen(): the same fake and state over HTTP on loopback, for the CLI and other processes.
import { describe, expect, it } from "vitest";
import { ConnectionError, createClient, TimeoutError } from "../src/index.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { BRANCH } from "./support/fixtures.ts";
import { runTs } from "./support/run.ts";

async function listening() {
  const fake = createFakePlanetScale();
  const server = await fake.listen();
  const ps = createClient({ baseUrl: server.url, serviceToken: fake.serviceToken, maxRetries: 0 });
  return { fake, server, ps };
}

describe("fake.listen()", () => {
  it("serves the same state over HTTP on 127.0.0.1 under the API's base path", async () => {
    const { fake, server, ps } = await listening();
    try {
      expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const role = await ps.createRole({ ...BRANCH, name: "over-http" });
      const inMemory = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
      expect((await inMemory.getRole({ ...BRANCH, id: role.id })).username).toBe(role.username);
      expect(fake.roles()[0]?.password).toBe(role.password);
      expect(fake.requests[0]).toMatchObject({
        operation: "create_role",
        path: `/organizations/acme/databases/app-db/branches/main/roles`,
      });
      expect(fake.requests[0]?.headers.authorization).toBeUndefined();
      const page = await ps.listRoles({ ...BRANCH, per_page: 1 });
      expect(page.next_page).toBeNull();
      const unauthorized = await fetch(`${server.url}/organizations/acme/databases/app-db/branches/main/roles`);
      expect(unauthorized.status).toBe(401);
      expect(await unauthorized.json()).toMatchObject({ code: "unauthorized" });
    } finally {
      await server.close();
    }
  });

  it("drops the connection after acting when told to reset it", async () => {
    const { fake, server, ps } = await listening();
    try {
      fake.failNext("create_role", { connectionReset: true });
      const error = await ps.createRole({ ...BRANCH, name: "lost" }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ requestSent: true });
      expect(fake.roles().map((role) => role.name)).toEqual(["lost"]);
    } finally {
      await server.close();
    }
  });

  it("a client that gives up during a delay ends it, and the server answers the next call", async () => {
    const { fake, server, ps } = await listening();
    try {
      fake.failNext("create_role", { delayMs: 60_000 });
      const error = await ps.createRole({ ...BRANCH, name: "late" }, { timeoutMs: 100 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TimeoutError);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(fake.roles()).toEqual([]);
      await expect(ps.listRoles(BRANCH)).resolves.toMatchObject({ total_count: 0 });
    } finally {
      await server.close();
    }
  });

  it("close() stops it: nothing listens on the port afterwards", async () => {
    const { server, ps } = await listening();
    await server.close();
    const error = await ps.listRoles(BRANCH).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ requestSent: false });
  });

  it("the planetscale-roles command works against it", async () => {
    const { fake, server } = await listening();
    try {
      const run = await runTs(
        "src/cli/bin.ts",
        ["create", "app-db", "main", "from-cli", "--org", "acme", "--base-url", server.url, "--format", "json"],
        {
          env: {
            PLANETSCALE_SERVICE_TOKEN_ID: fake.serviceToken.id,
            PLANETSCALE_SERVICE_TOKEN: fake.serviceToken.token,
            PLANETSCALE_DEBUG: undefined,
          },
        },
      );
      expect(run.code, run.stderr).toBe(0);
      const printed = JSON.parse(run.stdout);
      expect(fake.roles()).toEqual([
        expect.objectContaining({ username: printed.username, password: printed.password }),
      ]);
    } finally {
      await server.close();
    }
  });
});
