// Gathers every string the package produces in a run of scenarios (messages, stacks, inspect
// output, debug log lines) and searches it for the token, the Authorization value and the password.
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createClient, formatLogEvent, type RequestLogEvent, UnexpectedResponseError } from "../src/index.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { hang, json, resetAfterBody, startServer, type TestServer } from "./support/servers.ts";

const TOKEN_ID = "svc-id-7f3a";
const TOKEN = "pscale_tkn_Sup3rS3cret";
const OAUTH = "pscale_oauth_An0therS3cret";
const PASSWORD = roleFixture().password;
const SECRETS = [TOKEN, `${TOKEN_ID}:${TOKEN}`, OAUTH, `Bearer ${OAUTH}`, PASSWORD];

let server: TestServer;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());

function everythingShown(value: unknown): string[] {
  const shown = [inspect(value, { depth: 10, showHidden: false }), String(value)];
  if (value instanceof Error) shown.push(value.message, value.stack ?? "");
  return shown;
}

describe("secrets stay secret", () => {
  it("never show a token, the Authorization value or the password in errors, results or logs", async () => {
    const produced: string[] = [];
    const events: RequestLogEvent[] = [];
    const consoleError = vi.spyOn(console, "error").mockImplementation((...args) => {
      produced.push(args.map(String).join(" "));
    });
    try {
      const viaEnv = createClient({
        env: { PLANETSCALE_SERVICE_TOKEN_ID: TOKEN_ID, PLANETSCALE_SERVICE_TOKEN: TOKEN, PLANETSCALE_DEBUG: "1" },
        baseUrl: server.url,
        maxRetries: 0,
      });
      const viaOption = createClient({
        accessToken: OAUTH,
        baseUrl: server.url,
        maxRetries: 0,
        timeoutMs: 100,
        logger: (event) => events.push(event),
      });
      produced.push(...everythingShown(viaEnv), ...everythingShown(viaOption));

      const role = await viaEnv.createRole({ ...BRANCH, name: "ci" });
      produced.push(...everythingShown(role));

      const faults = [
        json(401, { code: "unauthorized", message: "bad token" }),
        json(500, ""),
        json(200, `{"username":"u","password":"${PASSWORD}"`), // cut short: not JSON
        json(200, { username: "u" }),
        resetAfterBody,
        hang,
      ];
      for (const fault of faults) {
        for (const client of [viaEnv, viaOption]) {
          server.next(fault);
          const error = await client.createRole(BRANCH, { timeoutMs: 100 }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(Error);
          produced.push(...everythingShown(error));
        }
      }
      // Bad credentials are named, never echoed.
      for (const bad of [{ serviceToken: `${TOKEN_ID}:${TOKEN}\n` }, { accessToken: `${OAUTH} x` }]) {
        try {
          createClient({ ...bad, baseUrl: server.url });
        } catch (error) {
          produced.push(...everythingShown(error));
        }
      }
      produced.push(...events.map((event) => JSON.stringify(event)), ...events.map(formatLogEvent));
    } finally {
      consoleError.mockRestore();
    }

    expect(events.length).toBeGreaterThan(5);
    expect(produced.some((line) => line.startsWith("planetscale-roles create_role POST"))).toBe(true);
    const all = produced.join("\n");
    for (const secret of SECRETS) expect(all).not.toContain(secret);
    expect(all).toContain("[redacted]");
  });

  it("keeps the password where the caller needs it: property access and JSON.stringify", async () => {
    const role = await createClient({ serviceToken: `${TOKEN_ID}:${TOKEN}`, baseUrl: server.url }).createRole(BRANCH);
    expect(role.password).toBe(PASSWORD);
    expect(JSON.parse(JSON.stringify(role)).password).toBe(PASSWORD);
    expect({ ...role }.password).toBe(PASSWORD);
    expect(inspect(role)).not.toContain(PASSWORD);
  });

  it("keeps the raw body of an unusable create answer on the error, out of sight", async () => {
    const raw = `{"username":"u","password":"${PASSWORD}"`;
    server.next(json(200, raw));
    const error = await createClient({ serviceToken: "a:b", baseUrl: server.url })
      .createRole(BRANCH)
      .catch((e: unknown) => e as UnexpectedResponseError);
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect((error as UnexpectedResponseError).body).toBe(raw);
    expect(inspect(error)).not.toContain(PASSWORD);
    expect(JSON.stringify(error)).not.toContain(PASSWORD);
  });

  it("logs method, path, status, duration, attempt and request id", async () => {
    const events: RequestLogEvent[] = [];
    server.next(json(200, roleFixture(), { "x-request-id": "req-9" }));
    await createClient({ serviceToken: "a:b", baseUrl: server.url, logger: (e) => events.push(e) }).createRole(BRANCH);
    expect(events).toEqual([
      {
        operation: "create_role",
        method: "POST",
        path: "/organizations/acme/databases/app-db/branches/main/roles",
        status: 200,
        attempt: 1,
        durationMs: expect.any(Number),
        requestId: "req-9",
      },
    ]);
  });
});
