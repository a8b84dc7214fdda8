// What an outside attack on the packed package found, each reproduced here: tokens echoed in
// headers, hooks that reject, a call slipping past a fresh hold, deadlines at the timer limit,
// server text in cleanup messages, Authorization through raw, headers fetch refuses, getters in
// inspect, tokens in transport errors, deadlines that outlive their calls, and loose options.
import { format, inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ConnectionError,
  createClient,
  InvalidRequestError,
  type PlanetScaleClient,
  type RequestLogEvent,
} from "../src/index.ts";
import { parseRetryAfter } from "../src/retry.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { json, startServer, type TestServer } from "./support/servers.ts";

const TOKEN = "pscale_tkn_Outsider-Secret-7";
const ROLE = { ...BRANCH, id: "role-1" };
let server: TestServer;
let ps: PlanetScaleClient;

beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  ps = createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: server.url, backoff: { baseMs: 5, maxMs: 5 } });
});

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

  it("is masked in a success's requestId", async () => {
    server.next(json(200, roleFixture(), { "x-request-id": `id-${TOKEN}` }));
    const { requestId } = await ps.getRole(ROLE).withResponse();
    expect(requestId).toBe("id-[redacted]");
  });
});

describe("hooks that return a rejected promise", () => {
  it("change nothing and reject nothing unhandled", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const client = createClient({
        serviceToken: `svc:${TOKEN}`,
        baseUrl: server.url,
        backoff: { baseMs: 5, maxMs: 5 },
        logger: async () => {
          throw new Error("log sink down");
        },
        onRetry: async () => {
          throw new Error("hook down");
        },
      });
      server.next(json(503, { code: "unavailable", message: "busy" }));
      await expect(client.getRole(ROLE)).resolves.toMatchObject({ id: "role-1" });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});

describe("the gate after a 429", () => {
  it("lets no call waiting for a place through before the Retry-After has passed", async () => {
    // The tenth request is refused at once with Retry-After 1; the first nine answer after 300 ms.
    const arrivals: number[] = [];
    let limitedAt = 0;
    const started = Date.now();
    const gated = await startServer((request, res) => {
      arrivals.push(Date.now() - started);
      if (arrivals.length === 10) {
        limitedAt = Date.now() - started;
        res.writeHead(429, { "content-type": "application/json", "retry-after": "1" });
        res.end(JSON.stringify({ code: "too_many_requests", message: "slow down" }));
        return;
      }
      const { name } = JSON.parse(request.body) as { name: string };
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(roleFixture({ name })));
      }, 300);
    });
    try {
      const client = createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: gated.url });
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) => client.createRole({ ...BRANCH, name: `c${i}` })),
      );
      expect(results).toHaveLength(12);
      const afterLimit = arrivals.slice(10);
      expect(afterLimit.every((at) => at >= limitedAt + 950)).toBe(true);
    } finally {
      await gated.close();
    }
  });
});

describe("deadlines", () => {
  it("at the timer limit do not fire at once", async () => {
    const hanging = await startServer(() => {});
    try {
      const client = createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: hanging.url, maxRetries: 0 });
      const controller = new AbortController();
      const calls = [0, 1, 3, 5].map((less) =>
        failure(client.getRole(ROLE, { timeoutMs: 2 ** 31 - 1 - less, signal: controller.signal })),
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      controller.abort();
      const errors = await Promise.all(calls);
      expect(errors.map((error) => error?.name)).toEqual(["AbortError", "AbortError", "AbortError", "AbortError"]);
    } finally {
      await hanging.close();
    }
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

describe("ps.raw", () => {
  it("cannot replace the Authorization header either", async () => {
    const error = await ps.raw
      .GET("/organizations/{organization}/databases/{database}/branches/{branch}/roles/{id}", {
        params: { path: ROLE },
        headers: { Authorization: "evil" },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(server.requests).toHaveLength(0);
  });
});

describe("request headers fetch will not send", () => {
  it.each([
    "expect",
    "transfer-encoding",
    "upgrade",
    "keep-alive",
    "connection",
    "host",
    "content-length",
    // The two the client depends on: answers never compressed, JSON bodies.
    "accept-encoding",
    "content-type",
  ])("%s is refused before sending", async (name) => {
    const error = await failure(ps.createRole({ ...BRANCH, name: "ci" }, { headers: { [name]: "x" } }));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(server.requests).toHaveLength(0);
  });

  it("an argument fetch refuses is a failure that sent nothing", async () => {
    const refusing: typeof fetch = async () => {
      throw Object.assign(new TypeError("fetch failed"), {
        cause: Object.assign(new Error("expect header not supported"), { code: "UND_ERR_NOT_SUPPORTED" }),
      });
    };
    const client = createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: server.url, fetch: refusing, maxRetries: 0 });
    const error = await failure(client.createRole({ ...BRANCH, name: "ci" }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ requestSent: false, outcomeUnknown: false });
  });

  it("a proxy that refuses the tunnel (407) is a failure that sent nothing", async () => {
    const refusing: typeof fetch = async () => {
      throw Object.assign(new TypeError("fetch failed"), {
        cause: Object.assign(new Error("Proxy response (407) !== 200 when HTTP Tunneling"), {
          code: "UND_ERR_ABORTED",
        }),
      });
    };
    const client = createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: server.url, fetch: refusing, maxRetries: 0 });
    const error = await failure(client.createRole({ ...BRANCH, name: "ci" }));
    expect(error).toMatchObject({ requestSent: false, outcomeUnknown: false });
    expect(error.message).toBe("create_role: could not connect; nothing was sent (UND_ERR_ABORTED)");
  });
});

describe("a transport error that carries the token", () => {
  it("is masked in the message, the stack and inspect", async () => {
    const leaky: typeof fetch = async (input) => {
      const auth = (input as Request).headers.get("authorization");
      throw new TypeError(`request failed: authorization=${auth}`, { cause: new Error(`token ${TOKEN}`) });
    };
    const client = createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: server.url, fetch: leaky, maxRetries: 0 });
    const error = await failure(client.getRole(ROLE));
    expect(error).toBeInstanceOf(ConnectionError);
    for (const text of shown(error)) expect(text).not.toContain(TOKEN);
  });
});

describe("options that slipped through", () => {
  it.each([
    ["backoff", { backoff: "fast" }],
    ["logger", { logger: "yes" }],
    ["options.bogus", { bogus: 1 }],
  ])("createClient refuses %s", (field, options) => {
    expect(() => createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: server.url, ...(options as object) })).toThrow(
      expect.objectContaining({ name: "InvalidRequestError", field }),
    );
  });

  it("refuses a signal that only pretends to be an AbortSignal", async () => {
    const signal = Object.create(AbortSignal.prototype) as AbortSignal;
    await expect(ps.getRole(ROLE, { signal })).rejects.toMatchObject({ name: "InvalidRequestError", field: "signal" });
    expect(server.requests).toHaveLength(0);
  });

  it.each(["default.json", "reset-default.xml"])(
    "refuses id %j, which a format suffix would route to a sibling",
    async (id) => {
      await expect(ps.getRole({ ...BRANCH, id })).rejects.toMatchObject({ field: "id" });
      expect(server.requests).toHaveLength(0);
    },
  );

  it.each(["https://api.example.com/v1?x=1", "https://api.example.com/v1#frag"])(
    "refuses a baseUrl with a query or fragment: %s",
    (baseUrl) => {
      expect(() => createClient({ serviceToken: `svc:${TOKEN}`, baseUrl })).toThrow(
        expect.objectContaining({ field: "baseUrl" }),
      );
    },
  );

  it("reads a leap second in an HTTP-date", () => {
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:60 GMT", Date.UTC(2025, 11, 31, 23, 59, 0))).toBe(60_000);
  });
});

describe("compressed answers", () => {
  it("are not asked for: a server that honours Accept-Encoding sends the create's answer as it is", async () => {
    // A gzip body with a broken checksum fails inside fetch's decoder, taking the password with it;
    // asking for identity keeps such a server from compressing at all.
    server.next((request, res) => {
      const accepts = String(request.headers["accept-encoding"] ?? "");
      if (/gzip|br|deflate/.test(accepts)) {
        res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip" });
        res.end(Buffer.from("not really gzip"));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(roleFixture()));
    });
    const role = await ps.createRole({ ...BRANCH, name: "ci" });
    expect(role.password).toBe(roleFixture().password);
    expect(server.requests[0]?.headers["accept-encoding"]).toBe("identity");
  });
});

describe("the fake, asked for an expiry no date can hold", () => {
  it("answers 422 naming ttl, as it does other bad input, rather than throwing", async () => {
    const { createFakePlanetScale } = await import("../src/testing/index.ts");
    const fake = createFakePlanetScale();
    const faked = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
    const error = await failure(faked.createRole({ ...BRANCH, name: "forever", ttl: 8_640_000_000_000 }));
    expect(error).toMatchObject({ status: 422 });
    expect(error?.message).toContain("ttl");
    expect(fake.roles()).toEqual([]);
  });
});
