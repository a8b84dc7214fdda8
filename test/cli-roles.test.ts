// The Roles subcommands, run in this process against Prism (stateless) and against a stateful
// local server that each test starts for itself.
import { describe, expect, inject, it } from "vitest";
import { runCli, withServer } from "./support/cli.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { type RolesServer, startRolesServer } from "./support/roles-server.ts";
import { json } from "./support/servers.ts";

const prismUrl = inject("prismUrl");
const cli = (args: string[], input?: string) =>
  runCli([...args, "--org", "acme"], input === undefined ? {} : { input });

async function withRolesServer(use: (server: RolesServer, at: string[]) => Promise<void>): Promise<void> {
  const server = await startRolesServer();
  try {
    await use(server, ["--base-url", server.url]);
  } finally {
    await server.close();
  }
}

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
    [["reset", "app-db", "main", "role-1"], /^ {2}password +\S+$/m],
    [["reset-default", "app-db", "main", "--force"], /^DATABASE_URL=postgresql:/m],
    [
      ["delete", "app-db", "main", "role-1", "--successor", "role-2"],
      /^Deleted role role-1 on acme\/app-db\/main; its objects now belong to role-2\.$/m,
    ],
    [
      ["reassign", "app-db", "main", "role-1", "--successor", "role-2"],
      /^The objects of role role-1 on acme\/app-db\/main now belong to role-2\.$/m,
    ],
  ])("%j succeeds", async (args, output) => {
    const run = await cli([...args, ...at]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(output);
  });

  it("only reset and reset-default warn that the password is shown once", async () => {
    const reset = await cli(["reset", "app-db", "main", "role-1", ...at]);
    expect(reset.stderr).toContain("the password is shown only this once");
    const renew = await cli(["renew", "app-db", "main", "role-1", ...at]);
    expect(renew.stderr).toBe("");
  });

  it("get never prints the password field", async () => {
    const run = await cli(["get", "app-db", "main", "role-1", ...at]);
    expect(run.stdout).toMatch(/username/);
    expect(run.stdout).not.toMatch(/password/);
  });

  it.each([["get"], ["renew"], ["reset"], ["delete"]])("%s --format json prints the API result", async (command) => {
    const run = await cli([command as string, "app-db", "main", "role-1", "--format", "json", ...at]);
    expect(run.code).toBe(0);
    expect(() => JSON.parse(run.stdout)).not.toThrow();
  });

  it("reset --format env prints the new credentials as env lines", async () => {
    const run = await cli(["reset", "app-db", "main", "role-1", "--format", "env", ...at]);
    expect(run.stdout).toMatch(/^export PGPASSWORD='.*'$/m);
  });

  it.each([
    ["get", "env"],
    ["delete", "docker-env"],
  ])("%s --format %s is a usage error before anything is sent", async (command, format) => {
    const run = await cli([command, "app-db", "main", "role-1", "--format", format, ...at]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toContain(
      `${command} takes --format human or json; ${format} is for the commands that return credentials (create, reset, reset-default)`,
    );
  });

  it.each([["list"], ["get"], ["update"], ["renew"], ["reset"], ["reset-default"], ["delete"], ["reassign"]])(
    "%s has its own --help",
    async (command) => {
      const run = await runCli([command as string, "--help"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: planetscale-roles ${command} <database> <branch>`);
    },
  );
});

describe.concurrent("subcommands against a stateful server", () => {
  it("list --all follows every page; create, delete --successor change what it shows", async () => {
    await withRolesServer(async (server, at) => {
      for (const name of ["one", "two", "three"]) {
        expect((await cli(["create", BRANCH.database, BRANCH.branch, name, ...at])).code).toBe(0);
      }
      const all = await cli(["list", "app-db", "main", "--all", "--per-page", "2", "--format", "json", ...at]);
      expect(all.code).toBe(0);
      expect(JSON.parse(all.stdout).map((r: { name: string }) => r.name)).toEqual(["one", "two", "three"]);
      const pages = server.requests
        .filter((r) => r.method === "GET")
        .map((r) => new URL(r.url, server.url).searchParams.get("page"));
      expect(pages).toEqual(["1", "2"]);

      const id = server.roles[0]?.id as string;
      const deleted = await cli(["delete", "app-db", "main", id, "--successor", "two", ...at]);
      expect(deleted.code).toBe(0);
      expect(server.deleted).toEqual([{ id, successor: "two" }]);
      const human = await cli(["list", "app-db", "main", ...at]);
      expect(human.stdout).toContain("2 role(s) on acme/app-db/main.");
      expect(human.stdout).not.toMatch(/^one /m);
    });
  });

  it("reset-default asks first, and sends nothing unless the answer is yes", async () => {
    await withRolesServer(async (server, at) => {
      const declined = await cli(["reset-default", "app-db", "main", ...at], "no");
      expect(declined.code).toBe(1);
      expect(declined.stderr).toContain('Type "yes"');
      expect(declined.stderr).toContain("cancelled; nothing was sent");
      const noInput = await cli(["reset-default", "app-db", "main", ...at]);
      expect(noInput.code).toBe(1);
      expect(server.requests).toEqual([]);
      const accepted = await cli(["reset-default", "app-db", "main", ...at], "yes");
      expect(server.requests.map((r) => r.url)).toEqual([
        "/organizations/acme/databases/app-db/branches/main/roles/reset-default",
      ]);
      // The stand-in server has no default role: what matters is that the request went out.
      expect(accepted.code).toBe(1);
    });
  });

  it("get of a missing role exits 1 with the API's message", async () => {
    await withRolesServer(async (_server, at) => {
      const run = await cli(["get", "app-db", "main", "nope", ...at]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("role nope not found");
    });
  });
});

describe.concurrent("a password the server sends where the command hands out none", () => {
  const leaked = roleFixture({ password: "pscale_pw_sent-by-a-faulty-proxy" });
  it.each([
    [["get", "app-db", "main", "role-1"], leaked],
    [["update", "app-db", "main", "role-1", "--name", "renamed"], leaked],
    [["renew", "app-db", "main", "role-1"], leaked],
    [["list", "app-db", "main"], pageFixture({ data: [leaked], total_count: 1 })],
  ])("%j prints none of it, in json as in human", async (args, answer) => {
    await withServer(json(200, answer), async (server) => {
      for (const format of ["json", "human"]) {
        const run = await cli([...args, "--format", format, "--base-url", server.url]);
        expect(run.code, run.stderr).toBe(0);
        expect(`${run.stdout}${run.stderr}`).not.toContain(leaked.password);
        expect(run.stdout).not.toMatch(/password/);
        expect(run.stdout).toContain(leaked.username);
      }
    });
  });

  it("reset --format json still prints the password it hands out", async () => {
    await withServer(json(200, leaked), async (server) => {
      const run = await cli(["reset", "app-db", "main", "role-1", "--format", "json", "--base-url", server.url]);
      expect(JSON.parse(run.stdout)).toMatchObject({ password: leaked.password });
    });
  });
});
