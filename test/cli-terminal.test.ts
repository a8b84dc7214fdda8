// Issue 10, item 16: text from the server (role names, messages, request ids) never reaches the
// terminal raw. Control characters are shown escaped; the machine formats stay exact.
import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { runCli, withServer } from "./support/cli.ts";
import { pageFixture, roleFixture } from "./support/fixtures.ts";
import { json, type RecordedRequest } from "./support/servers.ts";

// C0 (ESC, CR, BEL), DEL, C1 (NEL, CSI) and a bidi override: each can move the cursor, forge a
// line or reorder what a person reads.
const HOSTILE = "evil\x1b[2J\x1b]0;owned\x07\r\x7f\u0085\u009b31m\u202e";

/** The control characters left raw in `text`, line breaks aside (the output's own lines). */
function rawControls(text: string): string[] {
  return [...text].filter((char) => {
    const code = char.codePointAt(0) as number;
    const control = code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e);
    return control && char !== "\n";
  });
}

function page(roles: unknown[]) {
  return pageFixture({ data: roles });
}

describe.concurrent("human output escapes control characters visibly", () => {
  it("in the role list", async () => {
    await withServer(json(200, page([roleFixture({ name: HOSTILE, password: "" })])), async (server) => {
      const run = await runCli(["list", "app-db", "main", "--org", "acme", "--base-url", server.url]);
      expect(run.code).toBe(0);
      expect(rawControls(run.stdout)).toEqual([]);
      expect(run.stdout).toContain("evil\\u001b[2J\\u001b]0;owned\\u0007\\r\\u007f\\u0085\\u009b31m\\u202e");
    });
  });

  it("in a role's fields and in the credentials of a create", async () => {
    const role = roleFixture({ name: HOSTILE, username: `u${HOSTILE}`, password: `p\x1b[8m` });
    await withServer(json(200, role), async (server) => {
      const base = ["app-db", "main", "--org", "acme", "--base-url", server.url];
      const got = await runCli(["get", "app-db", "main", "role-1", ...base.slice(2)]);
      expect(got.code).toBe(0);
      expect(rawControls(got.stdout)).toEqual([]);
      expect(got.stdout).toMatch(/^ {2}name +evil\\u001b\[2J/m);
      const created = await runCli(["create", ...base, "x"]);
      expect(created.code).toBe(0);
      expect(rawControls(created.stdout + created.stderr)).toEqual([]);
      expect(created.stdout).toMatch(/^ {2}password +p\\u001b\[8m$/m);
      // The URL carries the exact password, percent-encoded.
      expect(created.stdout).toContain("DATABASE_URL=postgresql://u");
      expect(created.stdout).toContain(":p%1B%5B8m@");
      expect(created.stderr).toMatch(/shown escaped/);
    });
  });

  it("keeps --format json exact and still terminal-safe", async () => {
    const role = roleFixture({ name: HOSTILE });
    await withServer(json(200, role), async (server) => {
      const run = await runCli([
        "get",
        "app-db",
        "main",
        "role-1",
        "--org",
        "acme",
        "--base-url",
        server.url,
        "--format",
        "json",
      ]);
      expect(run.code).toBe(0);
      expect(rawControls(run.stdout)).toEqual([]);
      expect(JSON.parse(run.stdout).name).toBe(HOSTILE);
    });
  });

  it("falls back to JSON when an env line would carry a control character", async () => {
    const role = roleFixture({ password: "pw\nPGHOST=attacker.example" });
    await withServer(json(200, role), async (server) => {
      for (const format of ["env", "docker-env"]) {
        const at = ["--org", "acme", "--base-url", server.url];
        const run = await runCli(["create", "app-db", "main", ...at, "--format", format]);
        expect(run.code, format).toBe(1);
        expect(JSON.parse(run.stdout).password, format).toBe(role.password);
        expect(run.stderr, format).toMatch(/PGPASSWORD holds a control character/);
      }
    });
  });
});

describe.concurrent("error text escapes control characters", () => {
  it("in the API's message", async () => {
    await withServer(json(404, { code: "not_found", message: `gone ${HOSTILE}` }), async (server) => {
      const run = await runCli(["get", "app-db", "main", "role-1", "--org", "acme", "--base-url", server.url]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("gone evil\\u001b[2J");
      expect(rawControls(run.stderr)).toEqual([]);
      expect(run.stderr.trimEnd().split("\n")).toHaveLength(1);
    });
  });

  it("in the request id, in the message and in the --debug log", async () => {
    // Node writes header values as latin1: 0x85 and 0x9b arrive as the C1 controls NEL and CSI.
    const answer = (_req: RecordedRequest, res: ServerResponse) => {
      res.writeHead(404, { "content-type": "application/json", "x-request-id": "req\u0085forged\u009b2J" });
      res.end(JSON.stringify({ code: "not_found", message: "no such role" }));
    };
    await withServer(answer, async (server) => {
      const run = await runCli(["get", "app-db", "main", "r1", "--org", "acme", "--base-url", server.url, "--debug"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^planetscale-roles get_role GET .*req\\u0085forged\\u009b2J/m);
      expect(rawControls(run.stderr)).toEqual([]);
    });
  });

  it("in the arguments echoed back in a usage error", async () => {
    const run = await runCli([`frob\u009b2J\x1b[2J`]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command "frob\\u009b2J\\u001b[2J"');
    expect(rawControls(run.stderr)).toEqual([]);
  });
});
