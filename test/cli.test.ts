// `planetscale-roles create` run in this process (main(argv, io)) against Prism and against a
// server of each test's own; test/cli-process.test.ts runs the real executable.
import { describe, expect, inject, it } from "vitest";
import { Interrupted } from "../src/cli/failures.ts";
import { runCli, withServer } from "./support/cli.ts";
import { roleFixture } from "./support/fixtures.ts";
import { json } from "./support/servers.ts";

const prismUrl = inject("prismUrl");
const WARNING = "the password is shown only this once";

describe.concurrent("create against Prism", () => {
  const create = ["create", "app-db", "main", "ci-reader", "--org", "acme", "--base-url", prismUrl];

  it("prints the API result as JSON with --format json", async () => {
    const run = await runCli([...create, "--format", "json", "--ttl", "1h", "--inherited-roles", "pg_read_all_data"]);
    expect(run.code).toBe(0);
    const role = JSON.parse(run.stdout);
    expect(typeof role.password).toBe("string");
    expect(typeof role.access_host_url).toBe("string");
  });

  it("prints the fields and DATABASE_URL on stdout, and the warning on stderr", async () => {
    const run = await runCli(create);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^DATABASE_URL=postgresql:\/\/.+sslmode=verify-full$/m);
    expect(run.stdout).toMatch(/^ {2}username +\S+/m);
    expect(run.stdout).not.toContain(WARNING);
    expect(run.stderr).toContain(WARNING);
  });

  it("warns on stderr in the machine formats too, leaving stdout to the result", async () => {
    for (const format of ["json", "env", "docker-env"]) {
      const run = await runCli([...create, "--format", format]);
      expect(run.code, format).toBe(0);
      expect(run.stdout, format).not.toContain(WARNING);
      expect(run.stderr, format).toContain(WARNING);
    }
  });

  it("sends an OAuth token given with --access-token, which Prism accepts as Bearer", async () => {
    const run = await runCli([...create, "--access-token", "x"], {
      env: { PLANETSCALE_SERVICE_TOKEN_ID: undefined, PLANETSCALE_SERVICE_TOKEN: undefined },
    });
    expect(run.code).toBe(0);
  });
});

describe.concurrent("create on the wire", () => {
  it("turns arguments into the request", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const run = await runCli([
        ...["create", "app-db", "dev", "ci", "--org", "acme", "--base-url", server.url],
        ...["--ttl", "1h30m", "--inherited-roles", "pg_read_all_data, pg_monitor", "--with-replication"],
        ...["--format", "json"],
      ]);
      expect(run.code).toBe(0);
      expect(server.requests).toHaveLength(1);
      const [sent] = server.requests;
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
  });

  it("takes credentials from the options", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const noEnv = { env: { PLANETSCALE_SERVICE_TOKEN_ID: undefined, PLANETSCALE_SERVICE_TOKEN: undefined } };
      const base = ["create", "app-db", "main", "--org", "acme", "--base-url", server.url];
      const token = await runCli([...base, "--service-token-id", "o-id", "--service-token", "o-secret"], noEnv);
      expect(token.code).toBe(0);
      const bearer = await runCli([...base, "--access-token", "oa-token"], noEnv);
      expect(bearer.code).toBe(0);
      expect(server.requests.map((r) => r.headers.authorization)).toEqual(["o-id:o-secret", "Bearer oa-token"]);
    });
  });

  it("uses PLANETSCALE_ORG when --org is not given", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const run = await runCli(["create", "app-db", "main", "--base-url", server.url], {
        env: { PLANETSCALE_ORG: "from-env" },
      });
      expect(run.code).toBe(0);
      expect(server.requests.map((r) => r.url)).toEqual([
        "/organizations/from-env/databases/app-db/branches/main/roles",
      ]);
    });
  });
});

// Issue 10, item 2: once the API has answered with a password, it reaches stdout whatever fails
// afterwards, and the exit code is 1 (2 would say that nothing was sent).
describe.concurrent("a one-time password is never lost after the API answered", () => {
  const unconnectable = roleFixture({ access_host_url: "", password: "pw-only-once" });

  it.each([["human"], ["env"], ["docker-env"]])(
    "create --format %s prints the answer as JSON when it cannot be formatted, and exits 1",
    async (format) => {
      await withServer(json(200, unconnectable), async (server) => {
        const run = await runCli([
          ...["create", "app-db", "main", "ci", "--org", "acme", "--base-url", server.url],
          ...["--format", format as string],
        ]);
        expect(run.code).toBe(1);
        expect(JSON.parse(run.stdout)).toEqual(unconnectable);
        expect(run.stderr).toMatch(/access_host_url/);
        expect(run.stderr).toContain(WARNING);
      });
    },
  );

  it.each([[["reset", "app-db", "main", "role-1"]], [["reset-default", "app-db", "main", "--force"]]])(
    "%j prints the answer as JSON when it cannot be formatted, and exits 1",
    async (args) => {
      await withServer(json(200, unconnectable), async (server) => {
        const run = await runCli([...(args as string[]), "--org", "acme", "--base-url", server.url]);
        expect(run.code).toBe(1);
        expect(JSON.parse(run.stdout).password).toBe("pw-only-once");
      });
    },
  );

  it.each([
    ["a body that is not JSON", '<html>proxy error</html> {"password":"pw-only-once"'],
    ["JSON without a username", JSON.stringify({ password: "pw-only-once" })],
  ])("create answering 200 with %s puts the raw body on stdout, and exits 1", async (_what, body) => {
    await withServer(json(200, body), async (server) => {
      const run = await runCli(["create", "app-db", "main", "ci", "--org", "acme", "--base-url", server.url]);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain("pw-only-once");
      expect(run.stderr).toMatch(/raw answer is on stdout/);
      expect(run.stderr).not.toMatch(/error\.body/);
    });
  });
});

// Issue 17, item 11: stdout's reader went away (`| head -1`) before the one-time password reached
// it. The process-level test (EPIPE on a real pipe) is in cli-process.test.ts; here, the words.
describe.concurrent("a password printed to a closed stdout", () => {
  const at = (server: { url: string }) => ["--org", "acme", "--base-url", server.url];

  it("after reset, says the password was reset and to run reset again", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const run = await runCli(["reset", "app-db", "main", "role-1", ...at(server)], { stdoutClosed: true });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `The password of role ci-reader (id role-1) on acme/app-db/main was reset, and nobody has the new one: run \`planetscale-roles reset app-db main role-1 --org acme --base-url ${server.url}\` again.`,
      );
      expect(run.stderr).not.toContain(roleFixture().password);
    });
  });

  it("after reset-default, says to run reset-default --force again", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const run = await runCli(["reset-default", "app-db", "main", "--force", ...at(server)], { stdoutClosed: true });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("The default credentials of acme/app-db/main were reset");
      expect(run.stderr).toContain(`reset-default app-db main --org acme --base-url ${server.url} --force\` again`);
    });
  });

  it("after an unreadable create answer, says the raw answer did not arrive either", async () => {
    await withServer(json(200, "<html>proxy error</html>"), async (server) => {
      const run = await runCli(["create", "app-db", "main", "ci", ...at(server)], { stdoutClosed: true });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/stdout was closed: the raw answer, which may hold the only copy of the password/);
    });
  });

  it("changes nothing for a command whose output holds no password", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const run = await runCli(["get", "app-db", "main", "role-1", ...at(server)], { stdoutClosed: true });
      expect(run.code).toBe(0);
      expect(run.stderr).toBe("");
    });
  });
});

// Issue 17, item 12, in this process: the interrupt is a signal main() is given (bin.ts aborts it
// on SIGINT and SIGTERM; cli-process.test.ts sends the real signals).
describe.concurrent("an interrupt", () => {
  it("before create is sent says that nothing was sent; exit 130", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const signal = AbortSignal.abort(new Interrupted("SIGINT"));
      const run = await runCli(["create", "app-db", "main", "ci", "--org", "acme", "--base-url", server.url], {
        signal,
      });
      expect(run.code).toBe(130);
      expect(run.stderr).toBe("planetscale-roles: create was interrupted (SIGINT) before anything was sent.\n");
      expect(server.requests).toEqual([]);
    });
  });

  it("after delete was sent says the role may be gone and how to check", async () => {
    const interrupt = new AbortController();
    await withServer(
      () => interrupt.abort(new Interrupted("SIGTERM")),
      async (server) => {
        const at = ["--org", "acme", "--base-url", server.url];
        const run = await runCli(["delete", "app-db", "main", "role-1", ...at], { signal: interrupt.signal });
        expect(run.code).toBe(143);
        expect(run.stderr).toBe(
          "planetscale-roles: delete was interrupted (SIGTERM) after the request was sent. The outcome is unknown: " +
            `the role may have been deleted. Check with \`planetscale-roles get app-db main role-1 ${at.join(" ")}\` (not found means it is gone).\n`,
        );
      },
    );
  });

  it("while waiting to retry after a 429 says the create took no effect", async () => {
    const interrupt = new AbortController();
    await withServer(
      json(429, { code: "rate_limited", message: "slow down" }, { "retry-after": "30" }),
      async (server) => {
        const run = await runCli(
          ["create", "app-db", "main", "ci", "--org", "acme", "--base-url", server.url, "--debug"],
          // --debug logs the 429 once it is read; the client then waits 30 s to send again.
          {
            signal: interrupt.signal,
            onStderr: (line) => / 429 /.test(line) && interrupt.abort(new Interrupted("SIGINT")),
          },
        );
        expect(run.code).toBe(130);
        expect(run.stderr).toContain(
          "planetscale-roles: create was interrupted (SIGINT) before it took effect: no role was created.\n",
        );
        expect(server.requests).toHaveLength(1);
      },
    );
  });

  it("after list was sent says only that it was interrupted", async () => {
    const interrupt = new AbortController();
    await withServer(
      () => interrupt.abort(new Interrupted("SIGINT")),
      async (server) => {
        const run = await runCli(["list", "app-db", "main", "--org", "acme", "--base-url", server.url], {
          signal: interrupt.signal,
        });
        expect(run.code).toBe(130);
        expect(run.stderr).toBe("planetscale-roles: list was interrupted (SIGINT) while waiting for the answer.\n");
      },
    );
  });
});
