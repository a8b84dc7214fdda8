// Where a token may go, what a failed fetch is taken to mean, and how an answer's body is read:
// to its end, to the cap, or to the deadline, whatever the fetch does with the signal.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  AbortError,
  ConnectionError,
  createClient,
  InvalidRequestError,
  TimeoutError,
  UnexpectedResponseError,
} from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { type Handler, hang, json, resetAfterBody, startServer, type TestServer } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
const CAP = 4 * 1024 * 1024;
let server: TestServer;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const refusal = (run: () => unknown): InvalidRequestError => {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidRequestError);
    return error as InvalidRequestError;
  }
  throw new Error("expected an InvalidRequestError");
};
const client = (options: Parameters<typeof createClient>[0] = {}) =>
  createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0, ...options });

/** Headers and the start of a body, then nothing more, with the connection left open. */
const stall =
  (start: string): Handler =>
  (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.flushHeaders();
    if (start) res.write(start);
  };

/** A fetch that does not tie the body to the request's signal, as undici's link can be lost after a GC. */
const detached: typeof fetch = (input) => fetch(new Request(input as Request, { signal: null }));

describe("where plain http may carry a token", () => {
  it("accepts any literal address in 127.0.0.0/8, with octets of one to three digits up to 255", () => {
    expect(() => createClient({ serviceToken: "id:secret", baseUrl: "http://127.10.20.30:8080" })).not.toThrow();
    expect(() => createClient({ serviceToken: "id:secret", baseUrl: "http://127.0.0.255" })).not.toThrow();
  });

  it("names baseUrl and what was wrong with it", () => {
    const notUrl = refusal(() => createClient({ serviceToken: "id:secret", baseUrl: "api.planetscale.com" }));
    expect(notUrl.field).toBe("baseUrl");
    expect(notUrl.message).toBe('baseUrl must be an absolute http(s) URL, got "api.planetscale.com"');
    const plain = refusal(() => createClient({ serviceToken: "id:secret", baseUrl: "http://example.com/v1" }));
    expect(plain.field).toBe("baseUrl");
    expect(plain.message).toMatch(/^baseUrl uses plain http to example\.com; credentials are only sent over https/);
    const ftp = refusal(() => createClient({ serviceToken: "id:secret", baseUrl: "ftp://example.com" }));
    expect(ftp.field).toBe("baseUrl");
    expect(ftp.message).toBe("baseUrl must use https (or http to loopback), got ftp:");
  });

  it("refuses a baseUrl with only a user name, or only a password, without repeating it", () => {
    const user = refusal(() => createClient({ serviceToken: "id:secret", baseUrl: "https://deploy-bot@example.com" }));
    expect(user.field).toBe("baseUrl");
    expect(user.message).toContain("must not carry user info");
    expect(user.message).not.toContain("deploy-bot");
    const password = refusal(() =>
      createClient({ serviceToken: "id:secret", baseUrl: "https://:hunter2@example.com" }),
    );
    expect(password.field).toBe("baseUrl");
    expect(password.message).not.toContain("hunter2");
  });

  it("refuses a raw call sent elsewhere over plain http, naming the request URL, and sends nothing", async () => {
    const elsewhere = await startServer();
    try {
      const target = elsewhere.url.replace("127.0.0.1", "localhost.example");
      const error = await client()
        .raw.GET("/organizations/{organization}/databases/{database}/branches/{branch}/roles", {
          params: { path: BRANCH },
          baseUrl: target,
        })
        .catch((e: unknown) => e as InvalidRequestError);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).field).toBe("request URL");
      expect((error as InvalidRequestError).message).toMatch(/^request URL uses plain http to localhost\.example:/);
      expect(elsewhere.requests).toHaveLength(0);
    } finally {
      await elsewhere.close();
    }
  });
});

describe("what a failed fetch is taken to mean", () => {
  it("names undici's code when the connection drops after the request went out", async () => {
    server.next(resetAfterBody);
    const error = await failure(client().getRole(ROLE));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toBe("get_role: the connection failed after the request was sent (UND_ERR_SOCKET)");
    expect((error as ConnectionError).requestSent).toBe(true);
  });

  it("counts https to a server that speaks plain http as not sent (an ERR_SSL_ code)", async () => {
    const ps = client({ baseUrl: server.url.replace("http:", "https:") });
    const error = await failure(ps.createRole({ ...BRANCH, name: "ci" }));
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).requestSent).toBe(false);
    expect(error.message).toBe("create_role: could not connect; nothing was sent (ERR_SSL_WRONG_VERSION_NUMBER)");
    expect(server.requests).toHaveLength(0);
  });

  it("gives the message of a custom fetch's own error", async () => {
    const refusing = client({
      fetch: async () => {
        throw new Error("proxy refused the tunnel");
      },
    });
    const named = await failure(refusing.getRole(ROLE));
    expect(named).toBeInstanceOf(ConnectionError);
    expect(named.message).toBe("get_role: the connection failed after the request was sent (proxy refused the tunnel)");
  });

  it("ends on an error whose cause leads back to itself", async () => {
    const looping = new Error("tunnel collapsed");
    (looping as Error & { cause: unknown }).cause = looping;
    const ps = client({ fetch: () => Promise.reject(looping) });
    const error = await failure(ps.getRole(ROLE));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toBe("get_role: the connection failed after the request was sent (tunnel collapsed)");
  });

  it("stays a TimeoutError when the deadline fired first and the caller's signal followed it", async () => {
    server.next(hang);
    const controller = new AbortController();
    // A fetch wrapper that passes any abort of the request on to the caller's own controller.
    const relaying: typeof fetch = (input, init) => {
      (input as Request).signal.addEventListener("abort", () => controller.abort(new Error("relayed")));
      return fetch(input, init);
    };
    const ps = client({ fetch: relaying });
    const error = await failure(ps.getRole(ROLE, { signal: controller.signal, timeoutMs: 100 }));
    expect(controller.signal.aborted).toBe(true);
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it("ends a create aborted by the caller in an AbortError that says the role may exist", async () => {
    server.next(hang);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("deploy cancelled")), 100);
    const error = await failure(client().createRole({ ...BRANCH, name: "ci" }, { signal: controller.signal }));
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toMatch(
      /^create_role was aborted by the caller's signal\. The outcome is unknown: the role may have been created/,
    );
    expect(error.outcomeUnknown).toBe(true);
  });
});

describe("reading a body", () => {
  it("keeps an empty 2xx create answer as an empty body", async () => {
    server.next((_req, res) => res.writeHead(200, { "content-length": "0" }).end());
    const error = await failure(client().createRole({ ...BRANCH, name: "ci" }));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toMatch(/^create_role answered 200 with a body that is not JSON\./);
    expect((error as UnexpectedResponseError).body).toBe("");
  });

  it("ends a stalled body at the deadline even when the fetch does not tie the body to the signal", async () => {
    server.next(stall('{"id":"role-1"'));
    const started = performance.now();
    const error = await failure(client({ fetch: detached }).getRole(ROLE, { timeoutMs: 300 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it("ends at once when the caller's signal fired as the headers arrived, whatever the fetch does", async () => {
    server.next(stall(""));
    const controller = new AbortController();
    const abortOnHeaders: typeof fetch = async (input, init) => {
      const response = await detached(input, init);
      controller.abort(new Error("shutting down"));
      return response;
    };
    const error = await failure(client({ fetch: abortOnHeaders }).getRole(ROLE, { signal: controller.signal }));
    expect(error).toBeInstanceOf(AbortError);
  });

  it("reads an answer of exactly the cap in full", async () => {
    const opening = JSON.stringify(pageFixture()).slice(0, -1);
    const body = `${opening}${" ".repeat(CAP - opening.length - 1)}}`;
    server.next(json(200, body));
    const page = await client().listRoles(BRANCH);
    expect(page.data).toEqual([]);
  });

  it("keeps exactly the first cap's worth of a longer answer, and closes the connection", async () => {
    let closed: () => void = () => {};
    const connectionClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    server.next((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = "x".repeat(64 * 1024);
      const pump = () => {
        while (res.write(chunk)) {}
      };
      res.on("drain", pump);
      res.on("close", closed);
      pump();
    });
    const error = await failure(client().createRole({ ...BRANCH, name: "ci" }));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect((error as UnexpectedResponseError).body).toHaveLength(CAP);
    await connectionClosed;
  });

  it("decodes a character split across two chunks", async () => {
    const name = "ci-réader-🚀";
    const body = Buffer.from(JSON.stringify(roleFixture({ name })));
    const split = body.indexOf(Buffer.from("🚀")) + 2;
    server.next((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write(body.subarray(0, split), () => setTimeout(() => res.end(body.subarray(split)), 50));
    });
    const role = await client().createRole({ ...BRANCH, name: "ci" });
    expect(role.name).toBe(name);
  });
});
