// What the command says when something is wrong: its own words, naming its flags and commands
// (issue 12, "The CLI speaks CLI"), with exit 2 only when nothing was sent.
import { describe, expect, it } from "vitest";
import { runCli, withServer } from "./support/cli.ts";
import { roleFixture } from "./support/fixtures.ts";
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

// Issue 17, item 13: what a user of PlanetScale's own CLI (pscale) reaches for.
describe.concurrent("habits of the pscale CLI", () => {
  it("-h prints the help, for the command list and for a command", async () => {
    const top = await runCli(["-h"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: planetscale-roles <command>");
    const create = await runCli(["create", "-h"]);
    expect(create.code).toBe(0);
    expect(create.stdout).toContain("Usage: planetscale-roles create <database> <branch> [name]");
    expect(create.stdout).toMatch(/^ {2}-h, --help +show help$/m);
  });

  it("-f is --format, and --api-url is --base-url", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const get = ["get", "app-db", "main", "role-1", "--org", "acme"];
      const run = await runCli([...get, "--api-url", server.url, "-f", "json"]);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout).id).toBe("role-1");
      expect(server.requests).toHaveLength(1);
    });
    const help = await runCli(["get", "--help"]);
    expect(help.stdout).toMatch(/^ {2}-f, --format <value> +human \| json \(default human\)$/m);
    expect(help.stdout).toMatch(/^ {2}--base-url, --api-url <value> +API base URL/m);
  });

  it("names the --api-url the user typed when its address is refused", async () => {
    const run = await runCli(["get", "db", "main", "r1", "--org", "acme", "--api-url", "http://api.example.com"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^planetscale-roles: --api-url uses plain http/);
  });

  it.each([
    [["create", "db", "main", "--org", "acme", "--tll", "1h"], "create has no option --tll; did you mean --ttl?"],
    [
      ["list", "db", "main", "--org", "acme", "--per-pgae", "5"],
      "list has no option --per-pgae; did you mean --per-page?",
    ],
    [
      ["get", "db", "main", "r1", "--org", "acme", "--fromat", "json"],
      "get has no option --fromat; did you mean --format?",
    ],
    [
      ["get", "db", "main", "r1", "--org", "acme", "--api-ulr", "x"],
      "get has no option --api-ulr; did you mean --api-url?",
    ],
    [["craete", "db", "main"], 'unknown command "craete"; did you mean create?'],
    [["create", "db", "main", "--org", "acme", "--inherited-role", "x"], "did you mean --inherited-roles?"],
    [["create", "db", "main", "--org", "acme", "--debugg"], "did you mean --debug?"],
  ])("%j suggests the nearest name", async (args, message) => {
    const run = await runCli(args as string[]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${message}\n`);
  });

  it.each([
    [["create", "db", "main", "--org", "acme", "--zzz"], "create has no option --zzz\n"],
    [["get", "db", "main", "r1", "--org", "acme", "--ttl", "1h"], "get has no option --ttl\n"],
    [["frobnicate"], 'unknown command "frobnicate"\n'],
    // Two edits would make it --all, but that is most of what was typed: another word, not a slip.
    [["list", "db", "main", "--org", "acme", "--ab"], "list has no option --ab\n"],
  ])("%j suggests nothing when nothing is near", async (args, message) => {
    const run = await runCli(args as string[]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`planetscale-roles: ${message}`);
  });

  it("offers list only the formats it has, in its help and in the error", async () => {
    const help = await runCli(["list", "--help"]);
    expect(help.stdout).toMatch(/--format <value> +human \| json \(default human\)$/m);
    expect(help.stdout).not.toMatch(/\benv\b|docker-env/);
    const create = await runCli(["create", "--help"]);
    expect(create.stdout).toMatch(/--format <value> +human \| json \| env \| docker-env \(default human\)$/m);
    const run = await runCli(["list", "db", "main", "--org", "acme", "--format", "env"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      "planetscale-roles: list takes --format human or json; env is for the commands that return credentials (create, reset, reset-default)\n" +
        "Run `planetscale-roles list --help` for the arguments and options.\n",
    );
    const unknown = await runCli(["list", "db", "main", "--org", "acme", "--format", "yaml"]);
    expect(unknown.stderr).toMatch(/^planetscale-roles: --format must be human or json, not "yaml"\n/);
  });
});

describe.concurrent("what a command acted on", () => {
  it("delete names the role it deleted, and the successor that took its objects", async () => {
    await withServer(json(204, ""), async (server) => {
      const at = ["--org", "acme", "--base-url", server.url];
      const plain = await runCli(["delete", "app-db", "main", "role-1", ...at]);
      expect(plain.stdout).toBe("Deleted role role-1 on acme/app-db/main.\n");
      const handed = await runCli(["delete", "app-db", "main", "role-1", "--successor", "role-2", ...at]);
      expect(handed.stdout).toBe("Deleted role role-1 on acme/app-db/main; its objects now belong to role-2.\n");
      const reassigned = await runCli(["reassign", "app-db", "main", "role-1", "--successor", "role-2", ...at]);
      expect(reassigned.stdout).toBe("The objects of role role-1 on acme/app-db/main now belong to role-2.\n");
    });
  });

  it("create says on stderr when the role will never expire, leaving stdout to the result", async () => {
    await withServer(json(200, roleFixture({ expires_at: null, ttl: 0 })), async (server) => {
      const at = ["--org", "acme", "--base-url", server.url];
      const run = await runCli(["create", "app-db", "main", "ci-reader", ...at, "--format", "json"]);
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout).name).toBe("ci-reader");
      expect(run.stderr).toContain(
        `planetscale-roles: role ci-reader never expires: delete it when it is no longer needed (\`planetscale-roles delete app-db main role-1 ${at.join(" ")}\`), or give --ttl (1h, 7d) next time.\n`,
      );
    });
  });

  it("create says nothing of expiry when the role expires", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const run = await runCli(["create", "app-db", "main", "ci", "--org", "acme", "--base-url", server.url]);
      expect(run.code).toBe(0);
      expect(run.stderr).not.toMatch(/expire/);
    });
  });
});
