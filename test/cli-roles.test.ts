// The Roles subcommands, run as the real command against Prism and a stateful local server.
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { BRANCH } from "./support/fixtures.ts";
import { type RolesServer, startRolesServer } from "./support/roles-server.ts";
import { runTs } from "./support/run.ts";

const prismUrl = inject("prismUrl");
const ENV = {
  PLANETSCALE_SERVICE_TOKEN_ID: "cli-id",
  PLANETSCALE_SERVICE_TOKEN: "cli-token",
  PLANETSCALE_DEBUG: undefined,
};
const cli = (args: string[], input?: string) => runTs("src/bin.ts", [...args, "--org", "acme"], { env: ENV, input });

describe.concurrent("subcommands against Prism", () => {
  const at = ["--base-url", prismUrl];
  it.each([
    [["list", "app-db", "main", "--page", "2", "--per-page", "5"], /^NAME +ID +USERNAME +EXPIRES/m],
    [["get", "app-db", "main", "role-1"], /^ {2}username +\w+\.\w+$/m],
    [
      ["update", "app-db", "main", "role-1", "--name", "renamed", "--require-where-on-delete", "warn"],
      /^ {2}id +\w+$/m,
    ],
    [["renew", "app-db", "main", "role-1"], /^ {2}expires_at +\d{4}-\d\d-\d\dT/m],
    [["reset", "app-db", "main", "role-1"], /password is shown only this once/],
    [["reset-default", "app-db", "main", "--force"], /password is shown only this once/],
    [["delete", "app-db", "main", "role-1", "--successor", "role-2"], /delete: done on acme\/app-db\/main/],
    [["reassign", "app-db", "main", "role-1", "--successor", "role-2"], /reassign: done on acme\/app-db\/main/],
  ])("%j succeeds", async (args, output) => {
    const run = await cli([...args, ...at]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(output);
  });

  it("get never prints the password field", async () => {
    const run = await cli(["get", "app-db", "main", "role-1", ...at]);
    expect(run.stdout).not.toMatch(/password/);
  });

  it.each([["get"], ["renew"], ["reset"], ["delete"]])("%s --format json prints the API result", async (command) => {
    const run = await cli([command as string, "app-db", "main", "role-1", "--format", "json", ...at]);
    expect(run.code).toBe(0);
    expect(() => JSON.parse(run.stdout)).not.toThrow();
  });

  it("reset --format env prints the new credentials as env lines", async () => {
    const run = await cli(["reset", "app-db", "main", "role-1", "--format", "env", ...at]);
    expect(run.stdout).toMatch(/^PGPASSWORD='.*'$/m);
  });

  it("reassign without --successor is a usage error", async () => {
    const run = await cli(["reassign", "app-db", "main", "role-1", ...at]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("reassign needs --successor");
  });

  it("every subcommand has its own --help", async () => {
    for (const command of ["list", "get", "update", "renew", "reset", "reset-default", "delete", "reassign"]) {
      const run = await runTs("src/bin.ts", [command, "--help"]);
      expect(run.code, command).toBe(0);
      expect(run.stdout, command).toContain(`Usage: planetscale-roles ${command} <database> <branch>`);
    }
  });
});

describe("subcommands against a stateful server", () => {
  let server: RolesServer;
  beforeAll(async () => {
    server = await startRolesServer();
  });
  afterAll(() => server.close());
  const at = () => ["--base-url", server.url];

  it("list --all follows every page; create, delete --successor change what it shows", async () => {
    for (const name of ["one", "two", "three"]) {
      expect((await cli(["create", BRANCH.database, BRANCH.branch, name, ...at()])).code).toBe(0);
    }
    const all = await cli(["list", "app-db", "main", "--all", "--per-page", "2", "--format", "json", ...at()]);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.stdout).map((r: { name: string }) => r.name)).toEqual(["one", "two", "three"]);
    const pages = server.requests
      .filter((r) => r.method === "GET")
      .map((r) => new URL(r.url, server.url).searchParams.get("page"));
    expect(pages).toEqual(["1", "2"]);

    const id = server.roles[0]?.id as string;
    const deleted = await cli(["delete", "app-db", "main", id, "--successor", "two", ...at()]);
    expect(deleted.code).toBe(0);
    expect(server.deleted).toEqual([{ id, successor: "two" }]);
    const human = await cli(["list", "app-db", "main", ...at()]);
    expect(human.stdout).toContain("2 role(s) on acme/app-db/main.");
    expect(human.stdout).not.toMatch(/^one /m);
  });

  it("reset-default asks first, and sends nothing unless the answer is yes", async () => {
    const before = server.requests.length;
    const declined = await cli(["reset-default", "app-db", "main", ...at()], "no\n");
    expect(declined.code).toBe(1);
    expect(declined.stderr).toContain('Type "yes"');
    expect(declined.stderr).toContain("cancelled; nothing was sent");
    const noInput = await cli(["reset-default", "app-db", "main", ...at()]);
    expect(noInput.code).toBe(1);
    expect(server.requests.length).toBe(before);
    const accepted = await cli(["reset-default", "app-db", "main", ...at()], "yes\n");
    expect(server.requests.length).toBe(before + 1);
    expect(server.requests.at(-1)?.url).toBe("/organizations/acme/databases/app-db/branches/main/roles/reset-default");
    // The stand-in server has no default role: what matters is that the request went out.
    expect(accepted.code).toBe(1);
  });

  it("get of a missing role exits 1 with the API's message", async () => {
    const run = await cli(["get", "app-db", "main", "nope", ...at()]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("role nope not found");
  });
});
