// The real executable as a child process, for what only a process shows: exit codes, which
// stream each line goes to, and the prompt on a terminal's stdin. Everything else runs in-process.
import { describe, expect, it } from "vitest";
import { PROXY_UNSET, spawnCli, TOKEN_ENV, withServer } from "./support/cli.ts";
import { roleFixture } from "./support/fixtures.ts";
import { runTs } from "./support/run.ts";
import { json } from "./support/servers.ts";

const bin = (args: string[], input?: string) =>
  runTs("src/cli/bin.ts", args, {
    env: { ...PROXY_UNSET, PLANETSCALE_DEBUG: undefined, PLANETSCALE_ORG: undefined, ...TOKEN_ENV },
    ...(input === undefined ? {} : { input }),
  });

describe.concurrent("planetscale-roles as a process", () => {
  it("exits 2 on a usage error, with the message and usage on stderr only", async () => {
    const run = await bin(["create", "db", "main", "--org", "acme", "--ttl", "-5"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^planetscale-roles: --ttl: "-5" is not/);
  });

  it("exits 0 with the credentials on stdout and the warning on stderr", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const run = await bin(["create", "app-db", "main", "--org", "acme", "--base-url", server.url, "--format", "env"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^export PGPASSWORD='pscale_pw_S3cr3t-Only-Once'$/m);
      expect(run.stdout).not.toContain("shown only this once");
      expect(run.stderr).toContain("shown only this once");
    });
  });

  it("exits 1 with the password on stdout when the answer cannot be formatted", async () => {
    const role = roleFixture({ access_host_url: "" });
    await withServer(json(200, role), async (server) => {
      const run = await bin(["create", "app-db", "main", "--org", "acme", "--base-url", server.url]);
      expect(run.code).toBe(1);
      expect(JSON.parse(run.stdout).password).toBe(role.password);
      expect(run.stderr).toMatch(/access_host_url/);
    });
  });

  it("reads the reset-default confirmation from stdin, and a closed stdin is a no", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const args = ["reset-default", "app-db", "main", "--org", "acme", "--base-url", server.url];
      const [declined, closed, accepted] = await Promise.all([bin(args, "no\n"), bin(args), bin(args, "yes\n")]);
      expect([declined.code, closed.code, accepted.code]).toEqual([1, 1, 0]);
      expect(declined.stderr).toContain('Type "yes"');
      expect(accepted.stdout).toContain("DATABASE_URL=");
      expect(server.requests).toHaveLength(1);
    });
  });
});

// Issue 17, item 11: `planetscale-roles list … | head -1`. The reader of stdout is gone before the
// command writes: the write fails with EPIPE.
describe.concurrent("a stdout closed by its reader", () => {
  const where = (server: { url: string }) => ["app-db", "main", "--org", "acme", "--base-url", server.url];

  async function withClosedStdout(args: string[]): Promise<{ code: number; stderr: string }> {
    const run = spawnCli(args);
    try {
      run.child.stdout?.destroy();
      return { code: await run.exited, stderr: run.stderr() };
    } finally {
      run.stop();
    }
  }

  it("ends list quietly with exit 0", async () => {
    const page = {
      ...{ type: "list", current_page: 1, per_page: 25, total_count: 1, total_pages: 1 },
      ...{ next_page: null, next_page_url: null, prev_page: null, prev_page_url: null, data: [roleFixture()] },
    };
    await withServer(json(200, page), async (server) => {
      const run = await withClosedStdout(["list", ...where(server)]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
    });
  });

  it("ends create with exit 1, saying the role exists and its password could not be written", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const run = await withClosedStdout(["create", ...where(server), "ci-reader"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        "planetscale-roles: the password could not be written: stdout was closed. The role ci-reader (id role-1) exists on acme/app-db/main",
      );
      expect(run.stderr).toContain(`planetscale-roles reset app-db main role-1 --org acme --base-url ${server.url}`);
      expect(run.stderr).toContain(`planetscale-roles delete app-db main role-1 --org acme --base-url ${server.url}`);
      expect(run.stderr).not.toContain(roleFixture().password);
      expect(run.stderr).not.toMatch(/\n\s+at |EPIPE/);
    });
  });
});

// Issue 17, item 12: Ctrl-C (or a SIGTERM from a supervisor) while create waits for its answer.
describe.concurrent("an interrupt", () => {
  it.each([
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const)("%s after create was sent says the role may exist and how to find it; exit %i", async (signal, code) => {
    let received: () => void = () => {};
    const arrived = new Promise<void>((resolve) => {
      received = resolve;
    });
    // Accepts the create and never answers.
    await withServer(
      () => received(),
      async (server) => {
        const run = spawnCli(["create", "app-db", "main", "ci-reader", "--org", "acme", "--base-url", server.url]);
        try {
          await arrived;
          run.child.kill(signal);
          expect(await run.exited).toBe(code);
          expect(run.stderr()).toBe(
            `planetscale-roles: create was interrupted (${signal}) after the request was sent. The outcome is unknown: ` +
              `the role may have been created. Check with \`planetscale-roles list app-db main --org acme --base-url ${server.url} --q ci-reader\` ` +
              `and delete any role you cannot use with \`planetscale-roles delete app-db main <id> --org acme --base-url ${server.url}\`.\n`,
          );
        } finally {
          run.stop();
        }
      },
    );
  });

  it("during the reset-default question says nothing was sent; exit 130", async () => {
    await withServer(json(200, roleFixture()), async (server) => {
      const run = spawnCli(["reset-default", "app-db", "main", "--org", "acme", "--base-url", server.url]);
      try {
        await new Promise<void>((resolve) => {
          run.child.stderr?.on("data", () => {
            if (run.stderr().includes('Type "yes"')) resolve();
          });
        });
        run.child.kill("SIGINT");
        expect(await run.exited).toBe(130);
        expect(run.stderr()).toContain(
          "planetscale-roles: reset-default was interrupted (SIGINT) before anything was sent.\n",
        );
        expect(server.requests).toEqual([]);
      } finally {
        run.stop();
      }
    });
  });
});
