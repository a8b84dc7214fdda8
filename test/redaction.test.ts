// What this file proves: secrets (tokens, the Authorization value, passwords) never reach a message,
// a stack, a log line or util.inspect output, whatever echoes them (an error answer, a header, a
// transport error's causes), while the caller still reads the password; and text from the server
// is escaped so that it cannot drive a terminal.
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from "node:net";
import { format, inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { RoleLeftBehindError } from "../src/errors.ts";
import {
  AuthenticationError,
  ConnectionError,
  connectionString,
  createClient,
  formatLogEvent,
  NotFoundError,
  type RequestLogEvent,
  UnexpectedResponseError,
} from "../src/index.ts";
import { redactInspect, redactText, secretsOf } from "../src/secrets.ts";
import { manualClock, waitFor } from "./support/clock.ts";
import { failure } from "./support/failure.ts";
import { clientOnFake } from "./support/fake-client.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { clientForTests, serverForTests } from "./support/per-test.ts";
import { hang, json, resetAfterBody } from "./support/servers.ts";

const TOKEN_ID = "svc-id-7f3a";
const TOKEN = "pscale_tkn_Sup3rS3cret";
const OAUTH = "pscale_oauth_An0therS3cret";
const PASSWORD = roleFixture().password;
const SECRETS = [TOKEN, `${TOKEN_ID}:${TOKEN}`, OAUTH, `Bearer ${OAUTH}`, PASSWORD];
const server = serverForTests();

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
    // Deadlines on a clock the test moves once a hanging request has arrived, so that no fault is
    // left queued for the next test by a call that timed out before it was sent.
    const clock = manualClock();
    try {
      const viaEnv = createClient({
        env: { PLANETSCALE_SERVICE_TOKEN_ID: TOKEN_ID, PLANETSCALE_SERVICE_TOKEN: TOKEN, PLANETSCALE_DEBUG: "1" },
        baseUrl: server.url,
        maxRetries: 0,
        clock,
      });
      const viaOption = createClient({
        accessToken: OAUTH,
        baseUrl: server.url,
        maxRetries: 0,
        timeoutMs: 100,
        logger: (event) => events.push(event),
        clock,
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
          const sent = server.requests.length;
          const call = client.createRole(BRANCH, { timeoutMs: 100 }).catch((e: unknown) => e);
          if (fault === hang) {
            await waitFor(() => server.requests.length > sent, "the request that hangs");
            await clock.advance(100);
          }
          const error = await call;
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

describe("what a person sees when printing", () => {
  const server = serverForTests({ reset: true });

  describe("a printed role", () => {
    it("shows everything but the password: the username, the host and the inherited roles as a list", async () => {
      const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
      const shown = inspect(await ps.createRole(BRANCH));
      expect(shown).toContain("username: 'ci_reader.abc123'");
      expect(shown).toContain("access_host_url: 'aws.connect.psdb.cloud'");
      expect(shown).toContain("inherited_roles: [ 'pg_read_all_data' ]");
      expect(shown).toContain("password: '[redacted]'");
      expect(shown).not.toContain(roleFixture().password);
    });

    it("shows a role printed inside another object with its nested fields, still masked", async () => {
      const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
      const role = await ps.createRole(BRANCH);
      const shown = inspect({ response: { role } });
      expect(shown).toContain("branch: {");
      expect(shown).toContain("id: 'br-1'");
      expect(shown).toContain("password: '[redacted]'");
    });

    it("shows a listed role's blank password as blank: there is nothing to hide", async () => {
      const listed = { ...roleFixture(), password: "" };
      server.next(json(200, pageFixture({ data: [listed] })));
      const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
      const page = await ps.listRoles(BRANCH);
      const shown = inspect(page, { depth: 4 });
      expect(shown).toContain("password: ''");
      expect(shown).toContain("name: 'ci-reader'");
    });

    it("prints a role that the caller linked back to itself, the loop shown as [Circular]", async () => {
      const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
      const role = (await ps.createRole(BRANCH)) as object as Record<string, unknown>;
      role.self = role;
      const shown = inspect(role);
      expect(shown).toContain("self: '[Circular]'");
      expect(shown).toContain("password: '[redacted]'");
    });
  });

  describe("a printed role with fields nested deep", () => {
    it("prints, and with %o, an answer with unknown fields nested 5000 deep, the password masked", async () => {
      const arrays = `${"[".repeat(5000)}${"]".repeat(5000)}`;
      const objects = `${'{"in":'.repeat(5000)}0${"}".repeat(5000)}`;
      server.next(json(200, `${JSON.stringify(roleFixture()).slice(0, -1)},"arrays":${arrays},"objects":${objects}}`));
      const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
      const role = await ps.createRole(BRANCH);
      const shown = inspect(role);
      expect(shown).toContain("arrays: [ [ [Array] ] ]");
      expect(shown).toContain("objects: { in: { in: [Object] } }");
      expect(shown).toContain("password: '[redacted]'");
      expect(format("%o", role)).toContain("password: '[redacted]'");
      expect(`${shown}${format("%o", role)}`).not.toContain(roleFixture().password);
    });

    it("masks a secret at every depth inspect shows, in any mode, and at the deepest one of a role printed inside another object", () => {
      let chain: Record<string, unknown> = { token: PASSWORD };
      for (let level = 0; level < 6; level++) chain = { token: PASSWORD, next: chain };
      const role = redactInspect({ ...roleFixture(), chain });
      for (const depth of [0, 1, 2, 3, 7, null]) {
        expect(inspect(role, { depth }), `depth ${depth}`).not.toContain(PASSWORD);
        expect(inspect(role, { depth, showHidden: true }), `depth ${depth}, showHidden`).not.toContain(PASSWORD);
      }
      // Node shows a custom inspect's answer to the whole depth again, whatever depth it is met at.
      const inside = inspect({ response: { role } });
      expect(inside).toContain("next: { token: '[redacted]', next: [Object] }");
      expect(inspect({ response: { role } }, { depth: 4 })).not.toContain(PASSWORD);
      expect(format("%o", [{ role }])).not.toContain(PASSWORD);
      // The password and the chain's seven tokens, down to the last.
      expect(inspect(role, { depth: null }).match(/\[redacted\]/g)).toHaveLength(8);
    });
  });

  describe("credentials that an error answer echoes", () => {
    it("masks a bare OAuth token, without its Bearer prefix", async () => {
      const token = "oauth-token-4f9a2c";
      server.next(json(401, { code: "unauthorized", message: `token ${token} has expired` }));
      const ps = createClient({ accessToken: token, baseUrl: server.url });
      const error = await failure(ps.getRole({ ...BRANCH, id: "r" }));
      expect(error).toBeInstanceOf(AuthenticationError);
      expect(error.message).toContain("token [redacted] has expired");
      expect(error.message).not.toContain(token);
    });

    it("masks the token part of a service token, without its id", async () => {
      server.next(json(401, { code: "unauthorized", message: "secret svc-secret-77 does not belong to svc-id" }));
      const ps = createClient({ serviceToken: "svc-id:svc-secret-77", baseUrl: server.url });
      const error = await failure(ps.getRole({ ...BRANCH, id: "r" }));
      expect(error.apiMessage).toBe("secret [redacted] does not belong to svc-id");
    });
  });

  describe("server text with control characters", () => {
    it("escapes line breaks as JSON does (\\n) and other controls, separators and bidi overrides as \\uNNNN", async () => {
      server.next(json(409, { code: "conflict", message: "taken\nforged line\u2028next\u202eevil" }));
      const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
      const error = await failure(ps.createRole({ ...BRANCH, name: "x" }));
      expect(error.apiMessage).toBe("taken\\nforged line\\u2028next\\u202eevil");
    });
  });
});

describe("in every inspect mode and log line", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const FAST = { baseMs: 5, maxMs: 20 };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() =>
    createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 2 }),
  );

  describe("secrets in every inspect mode", () => {
    const PASSWORD = "pscale_pw_Only-Once-42";

    it("keep an unusable answer's body out of showHidden and %o", async () => {
      server.next(json(200, `{"username":"u","password":"${PASSWORD}"`));
      const error = await failure(ps.createRole({ ...BRANCH, name: "ci" }));
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect((error as UnexpectedResponseError).body).toContain(PASSWORD);
      expect(inspect(error, { showHidden: true, depth: 10 })).not.toContain(PASSWORD);
      expect(format("%o", error)).not.toContain(PASSWORD);
      expect(format("%O", error)).not.toContain(PASSWORD);
      expect(JSON.stringify(error)).not.toContain(PASSWORD);
      expect(Object.getOwnPropertyNames(error)).not.toContain("body");
    });

    it("keep a role's password out of showHidden and %o", async () => {
      const role = await ps.createRole({ ...BRANCH, name: "ci" });
      expect(format("%o", role)).not.toContain(roleFixture().password);
      expect(inspect(role, { showHidden: true })).not.toContain(roleFixture().password);
    });

    it("redact credentials that an error answer echoes, in the message, the stack and apiMessage", async () => {
      const TOKEN = "pscale_tkn_Echoed-Back-99";
      const client = createClient({ serviceToken: `svc-id:${TOKEN}`, baseUrl: server.url, maxRetries: 0 });
      server.next(json(401, { code: "unauthorized", message: `token svc-id:${TOKEN} is not valid` }));
      const error = await failure(client.getRole(ROLE));
      expect(error).toBeInstanceOf(AuthenticationError);
      for (const shown of [error?.message, error?.stack, error?.apiMessage, inspect(error, { showHidden: true })]) {
        expect(shown).not.toContain(TOKEN);
      }
      expect(error?.apiMessage).toContain("[redacted]");
    });
  });

  describe("untrusted text", () => {
    let raw: NetServer;
    let rawUrl = "";
    beforeAll(async () => {
      // Node's own http server refuses to send these bytes; a hostile server is not so polite.
      raw = createNetServer((socket) =>
        socket.once("data", () => {
          const body = JSON.stringify({ code: "not_found", message: "no\u001b[2J\u001b[31mrole\r\nforged line" });
          socket.end(
            Buffer.concat([
              Buffer.from("HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\nx-request-id: req-"),
              Buffer.from([0x85, 0x9b, 0x33, 0x31, 0x6d]),
              Buffer.from(`\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`),
            ]),
          );
        }),
      );
      await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
      rawUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
    });
    afterAll(() => raw.close());

    // C0 and C1 controls, DEL, line and paragraph separators.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
    const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

    it("keeps control characters from the server out of requestId, the message, the stack and log lines", async () => {
      const events: RequestLogEvent[] = [];
      const client = createClient({
        serviceToken: "id:secret",
        baseUrl: rawUrl,
        maxRetries: 0,
        logger: (event) => events.push(event),
      });
      const error = await failure(client.getRole(ROLE));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error?.requestId).toMatch(/^req-/);
      for (const text of [
        error?.requestId,
        error?.message,
        error?.apiMessage,
        error?.code,
        ...events.map(formatLogEvent),
      ]) {
        expect(text).not.toMatch(CONTROL);
      }
      expect(error?.message.split("\n")).toHaveLength(1);
      expect(error?.message).toContain("\\u001b[2J");
    });
  });
});

describe("echoed back", () => {
  const TOKEN = "pscale_tkn_Outsider-Secret-7";
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() =>
    createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: server.url, backoff: { baseMs: 5, maxMs: 5 } }),
  );

  /** Every way an error or value is shown: message, stack, each inspect mode. */
  const shown = (value: unknown) => [
    value instanceof Error ? `${value.message}\n${value.stack}` : "",
    inspect(value),
    inspect(value, { showHidden: true, getters: true, depth: 10 }),
    format("%o", value),
  ];

  describe("a token the server echoes in a header", () => {
    it("is masked in requestId, the message, the stack, inspect and log lines", async () => {
      const events: RequestLogEvent[] = [];
      const client = createClient({
        serviceToken: `svc:${TOKEN}`,
        baseUrl: server.url,
        maxRetries: 0,
        logger: (event) => events.push(event),
      });
      server.next(
        json(401, { code: "unauthorized", message: "no" }, { "x-request-id": TOKEN, "www-authenticate": `t=${TOKEN}` }),
      );
      const error = await failure(client.getRole(ROLE));
      expect(error?.requestId).toBe("[redacted]");
      for (const text of [...shown(error), ...events.map((event) => JSON.stringify(event))]) {
        expect(text).not.toContain(TOKEN);
      }
      // The headers stay reachable to code that asks for them.
      expect(error?.headers?.get("www-authenticate")).toBe(`t=${TOKEN}`);
    });

    it("is masked in a redirect's Location, which the message repeats", async () => {
      server.next(json(302, "", { location: `https://evil.example/steal?t=${TOKEN}&auth=svc:${TOKEN}` }));
      const error = await failure(ps.getRole(ROLE));
      expect(error.message).toMatch(
        /^get_role was redirected \(302\) to https:\/\/evil\.example\/steal\?t=\[redacted\]/,
      );
      for (const text of shown(error)) expect(text).not.toContain(TOKEN);
    });

    it("is masked when a body echoes the credentials URL-encoded; the token's id alone stays, as it names the token", async () => {
      const id = "tokid_Outsider-Id-5";
      const token = "pscale_tkn_with/slash+plus";
      const client = createClient({ serviceToken: `${id}:${token}`, baseUrl: server.url, maxRetries: 0 });
      server.next(json(401, { code: "unauthorized", message: `bad ${encodeURIComponent(`${id}:${token}`)}` }));
      const encoded = await failure(client.getRole(ROLE));
      for (const text of [...shown(encoded), String(encoded.apiMessage)]) {
        expect(text).not.toContain(encodeURIComponent(token));
        expect(text).not.toContain(token);
      }
      server.next(json(401, { code: "unauthorized", message: `unknown token id ${id}` }));
      expect((await failure(client.getRole(ROLE))).apiMessage).toBe(`unknown token id ${id}`);
    });

    it("is not printed with a success's withResponse(), whose headers may echo it", async () => {
      server.next(json(200, roleFixture(), { "x-echo": `${TOKEN_ID}:${TOKEN}` }));
      const info = await ps.createRole({ ...BRANCH, name: "echo" }).withResponse();
      for (const text of [
        ...everythingShown(info),
        inspect(info, { showHidden: true, depth: 5 }),
        format("%o", info),
      ]) {
        expect(text).not.toContain(TOKEN);
        expect(text).not.toContain(PASSWORD);
      }
      // What is shown still says which answer it was; the headers stay readable in code.
      expect(inspect(info)).toContain("status: 200");
      expect(info.response.headers.get("x-echo")).toBe(`${TOKEN_ID}:${TOKEN}`);
    });

    it("is masked in a success's requestId", async () => {
      server.next(json(200, roleFixture(), { "x-request-id": `id-${TOKEN}` }));
      const { requestId } = await ps.getRole(ROLE).withResponse();
      expect(requestId).toBe("id-[redacted]");
    });
  });

  describe("server text in the messages of roles left behind", () => {
    it("is escaped", async () => {
      server.next(
        json(200, roleFixture({ id: "id\u001b[2J\u009b", name: "ci\u001b]0;x\u0007\u202e" })),
        json(503, { code: "unavailable", message: "busy" }),
        json(503, { code: "unavailable", message: "busy" }),
        json(503, { code: "unavailable", message: "busy" }),
      );
      const error = await failure(ps.createTemporaryRole({ ...BRANCH, name: "ci" }, () => "used"));
      expect(error?.message).toMatch(/left behind/);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
      expect(error?.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
      expect(error?.message).toContain("\\u001b[2J");
    });
  });

  describe("what the callback came to, kept on the error of a role left behind", () => {
    it("is never shown, though it holds the password of the role still alive", async () => {
      const { fake, ps: client } = clientOnFake({ maxRetries: 0 });
      fake.failNext("delete_role", { status: 500 });
      fake.failNext("delete_role", { status: 500 });
      const returned = await failure(client.createTemporaryRole(BRANCH, (role) => ({ url: connectionString(role) })));
      const threw = await failure(
        client.createTemporaryRole(BRANCH, (role) => {
          throw Object.assign(new Error("migration failed"), { url: connectionString(role) });
        }),
      );
      const passwords = fake.roles(BRANCH).map((role) => role.password);
      expect(passwords).toHaveLength(2);
      expect((returned as RoleLeftBehindError).result).toEqual({ url: expect.stringContaining(passwords[0] ?? "-") });
      expect(((threw as RoleLeftBehindError).callbackError as Error).message).toBe("migration failed");
      for (const text of [...shown(returned), ...shown(threw), JSON.stringify(returned), JSON.stringify(threw)]) {
        for (const password of passwords) expect(text).not.toContain(password);
      }
    });
  });

  describe("a transport error that carries the token", () => {
    it("is masked in the message, the stack and inspect", async () => {
      const leaky: typeof fetch = async (input, init) => {
        const auth = new Request(input, init).headers.get("authorization");
        throw new TypeError(`request failed: authorization=${auth}`, { cause: new Error(`token ${TOKEN}`) });
      };
      const client = createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: server.url, fetch: leaky, maxRetries: 0 });
      const error = await failure(client.getRole(ROLE));
      expect(error).toBeInstanceOf(ConnectionError);
      for (const text of shown(error)) expect(text).not.toContain(TOKEN);
    });
  });
});

describe("in causes", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const TOKEN = "pscale_tkn_Words-Secret-3";
  const server = serverForTests();

  describe("a transport failure's cause", () => {
    const failing =
      (thrown: Error): typeof fetch =>
      async () => {
        throw thrown;
      };

    it("is the error fetch threw, when it holds no credential", async () => {
      const thrown = new TypeError("fetch failed", { cause: new Error("socket hang up") });
      const ps = createClient({
        serviceToken: `svc:${TOKEN}`,
        baseUrl: server.url,
        fetch: failing(thrown),
        maxRetries: 0,
      });
      const error = await failure(ps.getRole(ROLE));
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error.cause).toBe(thrown);
    });

    it("is masked when only the bare token appears, deep in its causes", async () => {
      const thrown = new TypeError("fetch failed", { cause: new Error("proxy said", { cause: new Error(TOKEN) }) });
      const ps = createClient({
        serviceToken: `svc:${TOKEN}`,
        baseUrl: server.url,
        fetch: failing(thrown),
        maxRetries: 0,
      });
      const error = await failure(ps.getRole(ROLE));
      expect(error.cause).not.toBe(thrown);
      expect(inspect(error, { depth: 10 })).not.toContain(TOKEN);
    });
  });
});

describe("the masks themselves", () => {
  it("shows a secret that is absent or empty as it is, so that a missing password is seen as missing", () => {
    const shown = inspect(redactInspect({ password: undefined, token: "", username: "u" }));
    expect(shown).toContain("password: undefined");
    expect(shown).toContain("token: ''");
    expect(inspect(redactInspect({ password: PASSWORD }))).toBe("{ password: '[redacted]' }");
  });

  it("gives the masked copy to a runtime that calls the inspect hook without an inspect function", () => {
    const role = redactInspect({ username: "u", password: PASSWORD });
    const hook = (role as unknown as Record<symbol, (depth: number, options: object) => unknown>)[
      Symbol.for("nodejs.util.inspect.custom")
    ];
    expect(hook?.call(role, 0, {})).toEqual({ username: "u", password: "[redacted]" });
  });

  it("can mask the same object twice (a role handed on by another layer)", () => {
    const role = redactInspect(redactInspect({ password: PASSWORD }));
    expect(inspect(role)).not.toContain(PASSWORD);
  });

  it("masks an Authorization value as one, plain or URL-encoded, rather than the token inside it", () => {
    const authorization = `Bearer ${OAUTH}/x`;
    const secrets = secretsOf(authorization);
    expect(redactText(`sent ${authorization}`, secrets)).toBe("sent [redacted]");
    expect(redactText(`sent ${encodeURIComponent(authorization)}`, secrets)).toBe("sent [redacted]");
    expect(redactText(`token ${OAUTH}/x`, secrets)).toBe("token [redacted]");
    // The service token's id names the token; only what follows the colon is secret.
    expect(redactText(`${TOKEN_ID}:${TOKEN} as ${TOKEN_ID}`, secretsOf(`${TOKEN_ID}:${TOKEN}`))).toBe(
      `[redacted] as ${TOKEN_ID}`,
    );
  });
});
