// What the command says when something is wrong: its own words, naming its flags and commands
// (issue 12, "The CLI speaks CLI"), with exit 2 only when nothing was sent.
import { describe, expect, it } from "vitest";
import { runCli, withServer } from "./support/cli.ts";
import { closedPort, json } from "./support/servers.ts";

const NO_TOKENS = { PLANETSCALE_SERVICE_TOKEN_ID: undefined, PLANETSCALE_SERVICE_TOKEN: undefined };
// Words of the library's API that a person at a shell cannot act on.
const LIBRARY_WORDS = /createClient|listRoles|serviceToken\b|accessToken\b|baseUrl|timeoutMs|error\.body|_role\b/;

describe.concurrent("help", () => {
  it("prints the command list and each command's usage with exit 0", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: planetscale-roles <command>");
    expect(top.stdout).toMatch(/^ {2}create /m);
    const create = await runCli(["create", "--help"]);
    expect(create.code).toBe(0);
    expect(create.stdout).toContain("Usage: planetscale-roles create <database> <branch> [name]");
    expect(create.stdout).toContain("--ttl");
  });
});

describe.concurrent("usage errors exit 2, print the usage, and send nothing", () => {
  it.each([
    [["create", "db", "main"], /--org is required/],
    [["create", "db", "main", "--org", "acme", "--ttl", "-5"], /--ttl: "-5" is not a whole number of seconds/],
    [["create", "db", "main", "--org", "acme", "--ttl=-5"], /--ttl: "-5" is not/],
    [["create", "db", "main", "--org", "acme", "--ttl", "1.5"], /--ttl: "1.5" is not/],
    [["create", "db", "main", "--org", "acme", "--ttl"], /--ttl needs a value/],
    [["create", "db", "main", "--org", "acme", "--ttl", "--format", "json"], /--ttl needs a value/],
    [["create", "db", "--org", "acme"], /create takes <database> <branch> \[name\]; got 1 argument\b/],
    [["get", "db", "main", "r1", "extra", "--org", "acme"], /get takes <database> <branch> <id>; got 4 arguments/],
    [["create", "db", "main", "--org", "acme", "--bogus"], /create has no option --bogus/],
    [["create", "db", "main", "--org", "acme", "-x"], /create has no option -x/],
    [["reset-default", "db", "main", "--org", "acme", "--force=yes"], /--force takes no value/],
    [["create", "db", "main", "--org", "acme", "--format", "yaml"], /--format must be human, json, env or docker-env/],
    [["frobnicate"], /unknown command "frobnicate"/],
    [[], /no command given/],
    [
      ["create", "db", "main", "--org", "acme", "--inherited-roles", "pg_superuser"],
      /--inherited-roles must be one of/,
    ],
    [["list", "db", "main", "--org", "acme", "--per-page", "abc"], /--per-page must be a whole number of 1 or more/],
    [["list", "db", "main", "--org", "acme", "--page", "0"], /--page must be a whole number of 1 or more/],
    [["update", "db", "main", "r1", "--org", "acme", "--require-where-on-delete", "x"], /--require-where-on-delete/],
    [["get", "db", "main", "../x", "--org", "acme"], /<id> must be/],
    [["create", "db", "main", " ", "--org", "acme"], /\[name\] must be a non-empty string/],
    [["list", "db", "main", "--org", "acme", "--all", "--page", "2"], /--all and --page do not go together/],
    [["reassign", "db", "main", "r1", "--org", "acme"], /reassign needs --successor/],
  ])("%j", async (args, message) => {
    await withServer(json(200, {}), async (server) => {
      const run = await runCli([...(args as string[]), "--base-url", server.url]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(message);
      expect(run.stderr).toMatch(/Usage: planetscale-roles|Run `planetscale-roles \S+ --help`/);
      expect(run.stderr).not.toMatch(LIBRARY_WORDS);
      expect(run.stderr).not.toMatch(/To specify|parseArgs|ambiguous|ERR_/);
      expect(server.requests).toEqual([]);
    });
  });
});

describe.concurrent("argument counts", () => {
  it.each([
    [["create", "db", "--org", "acme"], "create", "<database> <branch> [name]", "1 argument"],
    [["reset-default", "db", "main", "x", "--org", "acme"], "reset-default", "<database> <branch>", "3 arguments"],
  ])("%j is refused in the words of the usage line printed under it", async (args, name, signature, count) => {
    const run = await runCli(args as string[]);
    expect(run.code).toBe(2);
    expect(new RegExp(`Usage: planetscale-roles ${name} (.+) --org`).exec(run.stderr)?.[1]).toBe(signature);
    expect(run.stderr).toContain(`planetscale-roles: ${name} takes ${signature}; got ${count}\n`);
  });
});

describe.concurrent("syntax errors", () => {
  it("an unknown option shows the usage of the command it was given to", async () => {
    const run = await runCli(["create", "db", "main", "--org", "acme", "--bogus"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^planetscale-roles: create has no option --bogus\n/);
    expect(run.stderr).toContain("Usage: planetscale-roles create <database> <branch> [name]");
  });
});

describe.concurrent("credentials and addresses are named by flag and variable", () => {
  const create = ["create", "db", "main", "--org", "acme"];

  it("without credentials, names the flags and the environment variables", async () => {
    const run = await runCli(create, { env: NO_TOKENS });
    expect(run.code).toBe(2);
    for (const word of [
      "--service-token-id",
      "--service-token ",
      "--access-token",
      "PLANETSCALE_SERVICE_TOKEN_ID",
      "PLANETSCALE_SERVICE_TOKEN ",
      "PLANETSCALE_ACCESS_TOKEN",
    ]) {
      expect(run.stderr).toContain(word);
    }
    expect(run.stderr).not.toMatch(LIBRARY_WORDS);
  });

  it.each([
    [["--service-token-id", "a:b", "--service-token", "t"], /--service-token-id must be/],
    [["--service-token-id", "id", "--service-token", "t t"], /--service-token must be/],
    [["--service-token-id", "id"], /--service-token-id and --service-token go together/],
    [["--access-token", "a b"], /--access-token must be/],
    [["--access-token", "a", "--service-token-id", "i", "--service-token", "t"], /--access-token or --service-token/],
  ])("%j", async (extra, message) => {
    const run = await runCli([...create, ...(extra as string[])], { env: NO_TOKENS });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(LIBRARY_WORDS);
  });

  it.each([
    ["http://api.example.com", /--base-url uses plain http/],
    ["nope", /--base-url must be an absolute/],
  ])("--base-url %s", async (url, message) => {
    const run = await runCli([...create, "--base-url", url as string]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(LIBRARY_WORDS);
  });

  it.each([
    [{ PLANETSCALE_SERVICE_TOKEN_ID: "a:b" }, /^planetscale-roles: PLANETSCALE_SERVICE_TOKEN_ID must be printable/],
    [{ PLANETSCALE_SERVICE_TOKEN: undefined }, /^planetscale-roles: PLANETSCALE_SERVICE_TOKEN must be a non-empty/],
  ])("names the variable that holds a bad token: %j", async (env, message) => {
    const run = await runCli(create, { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
  });

  it("names PLANETSCALE_API_URL when the bad address came from there", async () => {
    const run = await runCli(create, { env: { PLANETSCALE_API_URL: "http://api.example.com" } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/PLANETSCALE_API_URL uses plain http/);
  });
});

describe.concurrent("API failures exit 1 with one line in the command's words", () => {
  it("prints the API's message without a stack; --debug adds the request log and the stack", async () => {
    const notFound = json(404, { code: "not_found", message: "Database not found" });
    await withServer(notFound, async (server) => {
      const args = ["create", "nope", "main", "--org", "acme", "--base-url", server.url];
      const run = await runCli(args);
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr).toBe("planetscale-roles: create failed: 404 not_found: Database not found\n");
      const debug = await runCli([...args, "--debug"]);
      expect(debug.code).toBe(1);
      expect(debug.stderr).toMatch(/^planetscale-roles create_role POST \S+ 404 /m);
      expect(debug.stderr).toMatch(/at .*request\.ts/);
      expect(debug.stderr).not.toContain("cli-secret-token");
    });
  });

  it("after a create with an unknown outcome, names the list command to check, with the real arguments", async () => {
    await withServer(json(502, { code: "bad_gateway", message: "upstream timed out" }), async (server) => {
      const run = await runCli(["create", "app-db", "main", "ci reader", "--org", "acme", "--base-url", server.url]);
      expect(run.code).toBe(1);
      expect(server.requests).toHaveLength(1);
      expect(run.stderr).toContain(
        `planetscale-roles list app-db main --org acme --base-url ${server.url} --q 'ci reader'`,
      );
      expect(run.stderr).toContain("planetscale-roles delete app-db main <id> --org acme");
      expect(run.stderr).toContain("The outcome is unknown");
      expect(run.stderr.match(/The outcome is unknown/g)).toHaveLength(1);
      expect(run.stderr).not.toMatch(LIBRARY_WORDS);
    });
  });

  it("after a reset with an unknown outcome, says the old password may be gone and how to get a working one", async () => {
    await withServer(json(503, { code: "unavailable", message: "try later" }), async (server) => {
      const run = await runCli(["reset", "app-db", "main", "role-1", "--org", "acme", "--base-url", server.url]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("the old password may no longer work");
      expect(run.stderr).toContain(`planetscale-roles reset app-db main role-1 --org acme --base-url ${server.url}`);
      expect(run.stderr).not.toMatch(LIBRARY_WORDS);
    });
  });

  it("exits 1 on a network error, in the command's words", async () => {
    const run = await runCli([
      "create",
      "db",
      "main",
      "--org",
      "acme",
      "--base-url",
      `http://127.0.0.1:${await closedPort()}`,
    ]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("create: could not connect; nothing was sent");
  });
});
