// The defects an outside review found (issue 10), each reproduced here against the behaviour it
// broke: path confusion, timer overflow, unreadable Retry-After, stacks, connection failures that
// sent nothing, resets with an unknown outcome, listeners, bodies without end or deadline, loggers
// that throw, secrets in every inspect mode, inputs that slipped through, and untrusted text.
import { execFile } from "node:child_process";
import { getEventListeners } from "node:events";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from "node:net";
import path from "node:path";
import { format, inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sleep } from "../src/clock.ts";
import {
  AuthenticationError,
  ConnectionError,
  createClient,
  formatLogEvent,
  InvalidRequestError,
  NotFoundError,
  type PlanetScaleClient,
  type RequestLogEvent,
  ServerError,
  UnexpectedResponseError,
} from "../src/index.ts";
import { parseRetryAfter } from "../src/retry.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { ROOT } from "./support/run.ts";
import { type Handler, json, startServer, type TestServer } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
const FAST = { baseMs: 5, maxMs: 20 };
let server: TestServer;
let ps: PlanetScaleClient;

beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 2 });
});

/** A fetch that answers every call at once, without a network: for counting what the client does per call. */
function answeringFetch(status = 200, body: unknown = roleFixture()): typeof fetch {
  return async () => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

describe("path parameters that name a sibling route", () => {
  it.each(["default", "reset-default"])('refuses getRole({ id: "%s" }) before sending', async (id) => {
    const error = await failure(ps.getRole({ ...BRANCH, id }));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field: "id", operation: "get_role" });
    expect(error?.message).toContain(JSON.stringify(id));
    expect(server.requests).toHaveLength(0);
  });

  it("refuses the literal segments for every operation with an id, and still sends ordinary ids", async () => {
    await expect(ps.deleteRole({ ...BRANCH, id: "default" })).rejects.toMatchObject({ field: "id" });
    await expect(ps.renewRole({ ...BRANCH, id: "reset-default" })).rejects.toMatchObject({ field: "id" });
    expect(server.requests).toHaveLength(0);
    await ps.getRole({ ...BRANCH, id: "defaults" });
    expect(server.requests.map((request) => request.url)).toEqual([
      "/organizations/acme/databases/app-db/branches/main/roles/defaults",
    ]);
  });
});

describe("timer limits", () => {
  const LIMIT = 2 ** 31 - 1;

  it.each([
    ["timeoutMs", { timeoutMs: 2 ** 31 }],
    ["backoff.baseMs", { backoff: { baseMs: 2 ** 31 } }],
    ["backoff.maxMs", { backoff: { maxMs: 2 ** 31 } }],
    ["backoff.maxRetryAfterMs", { backoff: { maxRetryAfterMs: 2 ** 32 } }],
  ])("refuses a client %s past the timer limit, naming the field and the limit", (field, options) => {
    let error: unknown;
    try {
      createClient({ serviceToken: "id:secret", baseUrl: server.url, ...options });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field });
    expect((error as Error).message).toContain(String(LIMIT));
  });

  it("accepts the limit itself", () => {
    expect(() =>
      createClient({ serviceToken: "id:secret", baseUrl: server.url, timeoutMs: LIMIT, backoff: { maxMs: LIMIT } }),
    ).not.toThrow();
  });

  it("refuses a per-call timeoutMs past the limit before sending", async () => {
    const error = await failure(ps.getRole(ROLE, { timeoutMs: 2 ** 31 }));
    expect(error).toMatchObject({ name: "InvalidRequestError", field: "timeoutMs" });
    expect(server.requests).toHaveLength(0);
  });

  it("never turns a wait past the limit into an immediate one", async () => {
    const controller = new AbortController();
    let settled = false;
    const waiting = sleep(2 ** 31 + 5_000, controller.signal).then(
      () => {
        settled = true;
      },
      () => {},
    );
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(settled).toBe(false);
    controller.abort();
    await waiting;
  });

  it("does not wait for a Retry-After beyond the timer limit: the RateLimitError carries it", async () => {
    const limited = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      backoff: { maxRetryAfterMs: LIMIT },
      maxRetries: 2,
    });
    server.next(json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "2147484" }));
    const error = await failure(limited.getRole(ROLE));
    expect(error?.name).toBe("RateLimitError");
    expect(error).toMatchObject({ retryAfterMs: 2_147_484_000 });
    expect(server.requests).toHaveLength(1);
  });
});

describe("Retry-After", () => {
  const NOW = Date.UTC(2026, 10, 30, 6, 0, 0);

  it.each(["1.5", "-1", "+1", "1e3", "0x10", "soon", "2026-11-30T06:00:10Z", "Mon, 30 Nov 2026 06:00:10 +0000"])(
    "treats %j as unreadable, so the backoff applies",
    (value) => {
      expect(parseRetryAfter(value, NOW)).toBeUndefined();
    },
  );

  it("reads delay-seconds", () => {
    expect(parseRetryAfter("0", NOW)).toBe(0);
    expect(parseRetryAfter(" 12 ", NOW)).toBe(12_000);
  });

  it("reads the three HTTP-date forms of RFC 9110", () => {
    expect(parseRetryAfter("Mon, 30 Nov 2026 06:00:10 GMT", NOW)).toBe(10_000);
    expect(parseRetryAfter("Monday, 30-Nov-26 06:00:10 GMT", NOW)).toBe(10_000);
    expect(parseRetryAfter("Mon Nov 30 06:00:10 2026", NOW)).toBe(10_000);
    expect(parseRetryAfter("Mon Nov  2 06:00:10 2026", Date.UTC(2026, 10, 2, 6, 0, 0))).toBe(10_000);
  });

  it("counts a date in the past as no wait, and refuses impossible dates", () => {
    expect(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", NOW)).toBe(0);
    expect(parseRetryAfter("Mon, 31 Nov 2026 06:00:10 GMT", NOW)).toBeUndefined();
    expect(parseRetryAfter("Mon, 30 Nov 2026 25:00:10 GMT", NOW)).toBeUndefined();
    expect(parseRetryAfter("Mon, 30 Foo 2026 06:00:10 GMT", NOW)).toBeUndefined();
  });

  it("reads a two-digit RFC 850 year as the most recent one not more than 50 years ahead", () => {
    expect(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", NOW)).toBe(0);
    expect(parseRetryAfter("Tuesday, 01-Dec-26 06:00:00 GMT", NOW)).toBe(24 * 3_600_000);
  });
});

describe("an extended message", () => {
  it("appears once in the stack, whose first line is name: message", async () => {
    server.next(json(502, { code: "bad_gateway", message: "upstream failed" }));
    const error = await failure(ps.createRole({ ...BRANCH, name: "ci-reader" }));
    expect(error).toBeInstanceOf(ServerError);
    const stack = error?.stack ?? "";
    expect(stack.split("\n    at ")[0]).toBe(`ServerError: ${error?.message}`);
    expect(stack.split("The outcome is unknown")).toHaveLength(2);
    expect(stack).toMatch(/\n {4}at /);
  });
});

describe("an extended message with no stack frames", () => {
  it("still reaches the stack (Error.stackTraceLimit = 0, as some services set)", async () => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      server.next(json(502, { code: "bad_gateway", message: "upstream failed" }));
      const error = await failure(ps.createRole({ ...BRANCH, name: "ci-reader" }));
      expect(error?.stack).toBe(`ServerError: ${error?.message}`);
      expect(error?.stack).toContain("The outcome is unknown");
    } finally {
      Error.stackTraceLimit = limit;
    }
  });
});

describe("connection failures that sent nothing", () => {
  let tlsServer: ReturnType<typeof createHttpsServer>;
  let resetServer: NetServer;
  const ports = { tls: 0, reset: 0 };
  beforeAll(async () => {
    const tls = path.join(ROOT, "test/fixtures/tls");
    tlsServer = createHttpsServer(
      { key: readFileSync(path.join(tls, "key.pem")), cert: readFileSync(path.join(tls, "cert.pem")) },
      (_req, res) => res.end(JSON.stringify(roleFixture())),
    );
    await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
    ports.tls = (tlsServer.address() as AddressInfo).port;
    resetServer = createNetServer((socket) => socket.once("data", () => socket.destroy()));
    await new Promise<void>((resolve) => resetServer.listen(0, "127.0.0.1", resolve));
    ports.reset = (resetServer.address() as AddressInfo).port;
  });
  afterAll(() => {
    tlsServer.close();
    resetServer.close();
  });

  it.each([
    ["a port fetch refuses to use", () => "http://127.0.0.1:6000"],
    ["a certificate that cannot be verified", () => `https://127.0.0.1:${ports.tls}`],
    ["a TLS handshake that the server broke off", () => `https://127.0.0.1:${ports.reset}`],
    ["a host name that does not resolve", () => "https://no-such-host.invalid"],
  ])("counts %s as not sent, and a create's message does not say the role may exist", async (_what, url) => {
    const client = createClient({ serviceToken: "id:secret", baseUrl: url(), maxRetries: 0 });
    const error = await failure(client.createRole({ ...BRANCH, name: "ci-reader" }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ requestSent: false, outcomeUnknown: false });
    expect(error?.message).not.toMatch(/may have been created|outcome is unknown/i);
    expect(error?.message).toMatch(/nothing was sent/);
  });
});

describe("resets whose outcome is unknown", () => {
  it.each([
    ["resetRole", () => ps.resetRole(ROLE)],
    ["resetDefaultRole", () => ps.resetDefaultRole(BRANCH)],
  ])("%s says the old password may already be invalid, and how to get a working one", async (method, call) => {
    const bad = json(502, { code: "bad_gateway", message: "upstream failed" });
    server.next(bad, bad, bad);
    const error = await failure(call());
    expect(error).toBeInstanceOf(ServerError);
    expect(server.requests).toHaveLength(3);
    expect(error?.message).toMatch(/old password may already be invalid/);
    expect(error?.message).toContain(`${method}(`);
  });
});

describe("listeners on the caller's signal", () => {
  it("are all gone after 10,000 calls that shared one long-lived signal", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      const client = createClient({ serviceToken: "id:secret", baseUrl: server.url, fetch: answeringFetch() });
      const signal = new AbortController().signal;
      for (let batch = 0; batch < 100; batch++) {
        await Promise.all(Array.from({ length: 100 }, () => client.getRole(ROLE, { signal })));
      }
      expect(getEventListeners(signal, "abort")).toHaveLength(0);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(warnings.map((warning) => warning.name)).not.toContain("MaxListenersExceededWarning");
    } finally {
      process.off("warning", onWarning);
    }
  });

  it("do not pile up past Node's warning limit when many calls share a signal, in flight or waiting to retry", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      let calls = 0;
      const slowThenFine: typeof fetch = async (input) => {
        calls++;
        await new Promise((resolve) => setTimeout(resolve, 30));
        // Every first attempt answers 503, so 50 calls wait together to retry.
        const status = calls <= 50 ? 503 : 200;
        return answeringFetch(status)(input);
      };
      const client = createClient({
        serviceToken: "id:secret",
        baseUrl: server.url,
        fetch: slowThenFine,
        backoff: { baseMs: 40, maxMs: 40 },
        maxConcurrency: 100,
      });
      const signal = new AbortController().signal;
      await Promise.all(Array.from({ length: 50 }, () => client.getRole(ROLE, { signal })));
      expect(calls).toBe(100);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(warnings.map((warning) => warning.name)).not.toContain("MaxListenersExceededWarning");
      expect(getEventListeners(signal, "abort")).toHaveLength(0);
    } finally {
      process.off("warning", onWarning);
    }
  });
});

describe("deletes after earlier failures", () => {
  it("reports a 404 as not found after a 429: only an attempt with an unknown outcome makes it done", async () => {
    server.next(
      json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "0" }),
      json(404, { code: "not_found", message: "no such role" }),
    );
    const error = await failure(ps.deleteRole(ROLE));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(server.requests).toHaveLength(2);
  });
});

describe("a temporary role whose caller's signal has fired", () => {
  it("is still deleted after the callback", async () => {
    const controller = new AbortController();
    server.next(json(200, roleFixture({ id: "temp-1" })), json(204, ""));
    const result = await ps.createTemporaryRole(
      { ...BRANCH, name: "temp" },
      () => {
        controller.abort();
        return "used";
      },
      { signal: controller.signal },
    );
    expect(result).toBe("used");
    expect(server.requests.map((request) => `${request.method} ${request.url.split("/").at(-1)}`)).toEqual([
      "POST roles",
      "DELETE temp-1",
    ]);
  });
});

describe("bodies", () => {
  /** Headers and the start of a body at once, then one byte every 50 ms for ever (until the socket closes). */
  const trickle =
    (start: string, status = 200): Handler =>
    (_req, res) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.write(start);
      const timer = setInterval(() => res.write(" "), 50);
      res.on("close", () => clearInterval(timer));
    };

  it("keeps the part of a create's body read before the deadline in error.body", async () => {
    server.next(trickle('{"id":"role-9","password":"pw-partial"'));
    const error = await failure(ps.createRole({ ...BRANCH, name: "ci" }, { timeoutMs: 300 }));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect((error as UnexpectedResponseError).body.trimEnd()).toBe('{"id":"role-9","password":"pw-partial"');
    expect(server.requests).toHaveLength(1);
  });

  it("ends a read that has no end at the size cap, keeping the first part", async () => {
    const endless: Handler = (_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = `{"pad":"${"x".repeat(64 * 1024)}`;
      const pump = () => {
        while (res.write(chunk)) {}
      };
      res.on("drain", pump);
      pump();
    };
    server.next(endless);
    const error = await failure(ps.createRole({ ...BRANCH, name: "ci" }));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    const body = (error as UnexpectedResponseError).body;
    expect(body.startsWith('{"pad":"xxx')).toBe(true);
    expect(body.length).toBeLessThanOrEqual(4 * 1024 * 1024);
    expect(body.length).toBeGreaterThan(1024 * 1024);
    expect(error?.message).toMatch(/larger than/);
  });

  it("does not buffer an error body without end either", async () => {
    const endlessError: Handler = (_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      const chunk = "e".repeat(64 * 1024);
      const pump = () => {
        while (res.write(chunk)) {}
      };
      res.on("drain", pump);
      pump();
    };
    server.next(endlessError);
    const error = await failure(ps.getRole(ROLE, { maxRetries: 0 }));
    expect(error).toBeInstanceOf(ServerError);
  });

  it("ends a trickling body at the deadline even after a garbage collection, and on the caller's abort", async () => {
    const trickling = await startServer(trickle('{"id":'));
    try {
      const child = path.join(ROOT, "test/support/stalled-body-child.ts");
      const output = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ["--expose-gc", "--import", "tsx", child, trickling.url],
          { cwd: ROOT, timeout: 20_000 },
          (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout)),
        );
      });
      const [timeout, abort] = output
        .trim()
        .split("\n")
        .map((line) => line.split(" "));
      expect(timeout?.[0]).toBe("TimeoutError");
      expect(Number(timeout?.[1])).toBeLessThan(4_000);
      expect(abort?.[0]).toBe("AbortError");
      expect(Number(abort?.[1])).toBeLessThan(4_000);
    } finally {
      await trickling.close();
    }
  });
});

describe("a logger that throws", () => {
  it("changes nothing: the role and its password come back", async () => {
    const client = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      logger: () => {
        throw new Error("log sink is down");
      },
    });
    const role = await client.createRole({ ...BRANCH, name: "ci" });
    expect(role.password).toBe(roleFixture().password);
  });

  it("changes nothing on a failure either: the error is the API's", async () => {
    const client = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      maxRetries: 0,
      logger: () => {
        throw new Error("log sink is down");
      },
    });
    server.next(json(404, { code: "not_found", message: "no role" }));
    await expect(client.getRole(ROLE)).rejects.toBeInstanceOf(NotFoundError);
  });
});

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

describe("inputs that slipped through", () => {
  it("refuses a baseUrl with user info", () => {
    expect(() => createClient({ serviceToken: "id:secret", baseUrl: "https://u:pw@api.example.com/v1" })).toThrow(
      expect.objectContaining({ name: "InvalidRequestError", field: "baseUrl" }),
    );
    let message = "";
    try {
      createClient({ serviceToken: "id:secret", baseUrl: "https://u:pw@api.example.com/v1" });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).not.toContain("pw");
  });

  it("allows plain http only to literal loopback addresses and localhost", () => {
    const make = (baseUrl: string) => () => createClient({ serviceToken: "id:secret", baseUrl });
    expect(make("http://evil.localhost/v1")).toThrow(InvalidRequestError);
    expect(make("http://localhost.evil.com/v1")).toThrow(InvalidRequestError);
    expect(make("http://127.0.0.1.nip.io/v1")).toThrow(InvalidRequestError);
    expect(make("http://localhost:8080/v1")).not.toThrow();
    expect(make("http://127.5.6.7/v1")).not.toThrow();
    expect(make("http://[::1]:8080/v1")).not.toThrow();
  });

  it.each([
    ["null", null],
    ["a string", "x"],
    ["a number", 5],
  ])("refuses request options that are %s, for createRole and the others", async (_what, options) => {
    const asOptions = options as never;
    await expect(ps.createRole({ ...BRANCH, name: "ci" }, asOptions)).rejects.toMatchObject({
      name: "InvalidRequestError",
      field: "options",
    });
    await expect(ps.getRole(ROLE, asOptions)).rejects.toMatchObject({ name: "InvalidRequestError", field: "options" });
    expect(server.requests).toHaveLength(0);
  });

  it("refuses a signal that is not an AbortSignal", async () => {
    const options = { signal: "x" } as never;
    await expect(ps.createRole({ ...BRANCH, name: "ci" }, options)).rejects.toMatchObject({
      name: "InvalidRequestError",
      field: "signal",
    });
    await expect(ps.getRole(ROLE, options)).rejects.toMatchObject({ field: "signal" });
    expect(server.requests).toHaveLength(0);
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
