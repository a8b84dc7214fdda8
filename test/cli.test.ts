// The real command, run as a child process, against Prism and against a recording server.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { roleFixture } from "./support/fixtures.ts";
import { runTs } from "./support/run.ts";
import { closedPort, json, startServer, type TestServer } from "./support/servers.ts";

const prismUrl = inject("prismUrl");
const TOKEN_ENV = { PLANETSCALE_SERVICE_TOKEN_ID: "cli-id", PLANETSCALE_SERVICE_TOKEN: "cli-secret-token" };
const cli = (args: string[], env: Record<string, string | undefined> = {}) =>
  runTs("src/cli/bin.ts", args, {
    env: { PLANETSCALE_DEBUG: undefined, PLANETSCALE_ORG: undefined, ...TOKEN_ENV, ...env },
  });

let server: TestServer;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());

describe.concurrent("planetscale-roles against Prism", () => {
  const create = ["create", "app-db", "main", "ci-reader", "--org", "acme", "--base-url", prismUrl];

  it("prints the API result as JSON with --format json", async () => {
    const run = await cli([...create, "--format", "json", "--ttl", "1h", "--inherited-roles", "pg_read_all_data"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const role = JSON.parse(run.stdout);
    expect(typeof role.password).toBe("string");
    expect(typeof role.access_host_url).toBe("string");
  });

  it("prints a warning, the fields and DATABASE_URL by default", async () => {
    const run = await cli(create);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("the password is shown only this once");
    expect(run.stdout).toMatch(/^DATABASE_URL=postgresql:\/\/.+sslmode=verify-full$/m);
    expect(run.stdout).toMatch(/^ {2}username +\S+/m);
  });

  it("prints env lines with --format env", async () => {
    const run = await cli([...create, "--format", "env"]);
    expect(run.code).toBe(0);
    const keys = run.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("=")[0]);
    expect(keys).toEqual(["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE", "DATABASE_URL"]);
  });

  it("sends an OAuth token given with --access-token, which Prism accepts as Bearer", async () => {
    const run = await cli([...create, "--access-token", "x"], {
      ...TOKEN_ENV,
      PLANETSCALE_SERVICE_TOKEN_ID: undefined,
      PLANETSCALE_SERVICE_TOKEN: undefined,
      PLANETSCALE_ACCESS_TOKEN: undefined,
    });
    expect(run.code).toBe(0);
  });
});

describe.concurrent("planetscale-roles on the wire", () => {
  it("turns arguments into the request", async () => {
    const run = await cli([
      "create",
      "app-db",
      "dev",
      "ci",
      "--org",
      "acme",
      "--base-url",
      server.url,
      "--ttl",
      "1h30m",
      "--inherited-roles",
      "pg_read_all_data, pg_monitor",
      "--with-replication",
      "--format",
      "json",
    ]);
    expect(run.code).toBe(0);
    const sent = server.requests.find((r) => r.url.includes("/branches/dev/"));
    expect(sent?.method).toBe("POST");
    expect(sent?.url).toBe("/organizations/acme/databases/app-db/branches/dev/roles");
    expect(JSON.parse(sent?.body ?? "")).toEqual({
      name: "ci",
      ttl: 5400,
      inherited_roles: ["pg_read_all_data", "pg_monitor"],
      with_replication: true,
    });
    expect(sent?.headers.authorization).toBe("cli-id:cli-secret-token");
    expect(JSON.parse(run.stdout)).toEqual(roleFixture());
  });

  it("takes credentials from the options", async () => {
    const run = await cli(
      [
        "create",
        "app-db",
        "opts",
        "--org",
        "acme",
        "--base-url",
        server.url,
        "--service-token-id",
        "o-id",
        "--service-token",
        "o-secret",
      ],
      { PLANETSCALE_SERVICE_TOKEN_ID: undefined, PLANETSCALE_SERVICE_TOKEN: undefined },
    );
    expect(run.code).toBe(0);
    expect(server.requests.find((r) => r.url.includes("/branches/opts/"))?.headers.authorization).toBe("o-id:o-secret");
    const bearer = await cli(
      ["create", "app-db", "oauth", "--org", "acme", "--base-url", server.url, "--access-token", "oa-token"],
      {
        PLANETSCALE_SERVICE_TOKEN_ID: undefined,
        PLANETSCALE_SERVICE_TOKEN: undefined,
      },
    );
    expect(bearer.code).toBe(0);
    expect(server.requests.find((r) => r.url.includes("/branches/oauth/"))?.headers.authorization).toBe(
      "Bearer oa-token",
    );
  });

  it("uses PLANETSCALE_ORG when --org is not given", async () => {
    const run = await cli(["create", "app-db", "envorg", "--base-url", server.url], { PLANETSCALE_ORG: "from-env" });
    expect(run.code).toBe(0);
    expect(
      server.requests.some((r) => r.url === "/organizations/from-env/databases/app-db/branches/envorg/roles"),
    ).toBe(true);
  });
});

describe.concurrent("exit codes and messages", () => {
  it("prints help with exit 0", async () => {
    const top = await cli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: planetscale-roles <command>");
    expect(top.stdout).toMatch(/^ {2}create /m);
    const create = await cli(["create", "--help"]);
    expect(create.code).toBe(0);
    expect(create.stdout).toContain("Usage: planetscale-roles create <database> <branch> [name]");
    expect(create.stdout).toContain("--ttl");
  });

  it.each([
    [["create", "db", "main"], /--org is required/],
    [["create", "db", "main", "--org", "acme", "--ttl", "-5"], /--ttl/],
    [["create", "db", "main", "--org", "acme", "--ttl", "1.5"], /--ttl: "1.5" is not/],
    [["create", "db", "main", "--org", "acme", "--ttl", "soon"], /--ttl: "soon" is not/],
    [["create", "db", "--org", "acme"], /create takes <database> <branch> <name>/],
    [["create", "db", "main", "--org", "acme", "--bogus"], /Unknown option '--bogus'/],
    [["create", "db", "main", "--org", "acme", "--format", "yaml"], /--format must be human, json or env/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [[], /no command given/],
    [
      ["create", "db", "main", "--org", "acme", "--inherited-roles", "pg_superuser"],
      /inherited_roles\[0\] must be one of/,
    ],
  ])("exits 2 with the usage for %j", async (args, message) => {
    const run = await cli(args as string[]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(message);
  });

  it("exits 1 with one clear line and no stack on an API error; --debug adds the stack", async () => {
    server.next(json(404, { code: "not_found", message: "Database not found" }));
    const args = ["create", "nope", "main", "--org", "acme", "--base-url", server.url];
    const run = await cli(args);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toContain("Database not found");
    expect(run.stderr).not.toContain("cli-secret-token");
    server.next(json(404, { code: "not_found", message: "Database not found" }));
    const debug = await cli([...args, "--debug"]);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/at .*request\.ts/);
    expect(debug.stderr).toMatch(/planetscale-roles create_role POST .* 404/);
    expect(debug.stderr).not.toContain("cli-secret-token");
  });

  it("exits 1 on a network error", async () => {
    const port = await closedPort();
    const run = await cli(["create", "db", "main", "--org", "acme", "--base-url", `http://127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("could not connect; nothing was sent");
  });
});
