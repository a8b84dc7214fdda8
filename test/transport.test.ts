// What this file proves: how a request travels. Which URLs may carry a token (https, plain http to
// loopback only), the credentials header that nothing replaces, redirects not followed, what a
// failed fetch is taken to mean (sent or not), and how a body is read: to its end, to the cap, or to
// the deadline.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, createServer as createNetServer, type Server as NetServer } from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import { fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  AbortError,
  ConnectionError,
  createClient,
  InvalidRequestError,
  ServerError,
  TimeoutError,
  UnexpectedResponseError,
} from "../src/index.ts";
import { guardedFetch, readBody } from "../src/transport.ts";
import { manualClock, settle, waitFor } from "./support/clock.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { clientForTests, notingHeaders, serverForTests } from "./support/per-test.ts";
import { ROOT } from "./support/run.ts";
import { type Handler, hang, json, redirect, resetAfterBody, startServer, type TestServer } from "./support/servers.ts";

let elsewhere: TestServer;
const server = serverForTests();

beforeAll(async () => {
  elsewhere = await startServer(json(200, roleFixture()));
});

afterAll(() => elsewhere.close());

describe("transport", () => {
  it.each(["http://api.planetscale.com/v1", "http://10.0.0.5:8080", "ftp://localhost/"])(
    "refuses %s before any request",
    (baseUrl) => {
      let calls = 0;
      const spy: typeof fetch = async () => {
        calls++;
        return new Response("{}");
      };
      expect(() => createClient({ serviceToken: "a:b", baseUrl, fetch: spy })).toThrow(InvalidRequestError);
      expect(() => createClient({ serviceToken: "a:b", baseUrl, fetch: spy })).toThrow(/baseUrl/);
      expect(calls).toBe(0);
    },
  );

  it.each(["HTTPS://API.TEST/v1", "https://api.test:443/v1", "https://api.test/./v1/"])(
    "sends to a baseUrl written as %s where the URL parser reads it, with the token",
    async (baseUrl) => {
      const sent: string[] = [];
      const recording: typeof fetch = async (input, init) => {
        sent.push(`${new Request(input, init).url} ${new Request(input, init).headers.get("authorization")}`);
        return Response.json(pageFixture());
      };
      const ps = createClient({ serviceToken: "a:b", baseUrl, fetch: recording, maxRetries: 0 });
      await ps.listRoles(BRANCH);
      expect(sent).toEqual(["https://api.test/v1/organizations/acme/databases/app-db/branches/main/roles a:b"]);
    },
  );

  it("allows plain http to loopback only", () => {
    for (const baseUrl of ["http://localhost:4010", "http://127.0.0.1:4010", "http://[::1]:4010"]) {
      expect(() => createClient({ serviceToken: "a:b", baseUrl })).not.toThrow();
    }
  });

  it("checks every request, so the raw client cannot send a token over plain http either", async () => {
    const ps = createClient({ serviceToken: "a:b", baseUrl: server.url });
    const before = server.requests.length;
    await expect(
      ps.raw.GET("/organizations/{organization}/databases/{database}/branches/{branch}/roles", {
        params: { path: BRANCH },
        baseUrl: "http://example.com/v1",
      }),
    ).rejects.toBeInstanceOf(InvalidRequestError);
    expect(server.requests.length).toBe(before);
  });

  it.each([301, 302, 307, 308])(
    "does not follow a %i: names where it pointed, the target sees nothing",
    async (status) => {
      const target = `${elsewhere.url}/stolen`;
      server.next(redirect(status, target));
      const error = await createClient({ serviceToken: "a:b", baseUrl: server.url })
        .createRole(BRANCH)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect((error as Error).message).toContain(target);
      expect(elsewhere.requests).toHaveLength(0);
    },
  );
});

describe("the caller's fetch", () => {
  it("is called as a plain function, as workerd's fetch demands (no `this` but the global one)", async () => {
    const calls: unknown[] = [];
    // As workerd's fetch: any `this` other than the global scope is an "Illegal invocation".
    const strictFetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
      if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
      calls.push(input);
      return fetch(input, init);
    } as typeof fetch;
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, fetch: strictFetch, maxRetries: 0 });
    await expect(ps.createRole({ ...BRANCH, name: "ci" })).resolves.toMatchObject({ name: "ci-reader" });
    await expect(
      ps.raw.GET("/organizations/{organization}/databases/{database}/branches/{branch}/roles/default", {
        params: { path: BRANCH },
      }),
    ).resolves.toBeDefined();
    expect(calls).toHaveLength(2);
  });

  it("is given an operation's URL and an init with the JSON body as text, and a raw call's Request", async () => {
    const calls: { input: unknown; init?: RequestInit }[] = [];
    const keeping: typeof fetch = (input, init) => {
      calls.push({ input, init });
      return fetch(input, init);
    };
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, fetch: keeping, maxRetries: 0 });
    await ps.createRole({ ...BRANCH, name: "ci", ttl: 60 });
    await ps.raw.GET("/organizations/{organization}/databases/{database}/branches/{branch}/roles/default", {
      params: { path: BRANCH },
    });
    const [operation, raw] = calls;
    // A Request made first would have fetch pipe its body as a stream (bench:overhead measures it).
    expect(operation?.input).toBe(`${server.url}/organizations/acme/databases/app-db/branches/main/roles`);
    expect(operation?.init).toMatchObject({ method: "POST", body: '{"name":"ci","ttl":60}', redirect: "manual" });
    expect(new Headers(operation?.init?.headers).get("authorization")).toBe("id:secret");
    expect(operation?.init?.signal).toBeInstanceOf(AbortSignal);
    expect(raw?.input).toBeInstanceOf(Request);
    expect(raw?.init).toBeUndefined();
  });
});

describe("a raw call", () => {
  const ROLES = "/organizations/{organization}/databases/{database}/branches/{branch}/roles";
  const raw = (fetch: typeof globalThis.fetch, baseUrl = "https://api.test/v1") =>
    createClient({ serviceToken: "id:secret", baseUrl, fetch, maxRetries: 0 }).raw;
  /** A fetch that never answers, deaf to the request's signal, as a caller's fetch may be. */
  const deaf: typeof fetch = () => new Promise<Response>(() => {});
  /** How `promise` ended so far: "pending" until it settles, then its value or its reason. */
  const watch = (promise: Promise<unknown>) => {
    const seen: { outcome: unknown } = { outcome: "pending" };
    promise.then(
      (value) => {
        seen.outcome = value;
      },
      (reason: unknown) => {
        seen.outcome = reason;
      },
    );
    return seen;
  };
  /** A turn of the event loop: the guarded fetch gives a fetch that long to answer after the signal fires. */
  const aTurnLater = async () => {
    await settle();
    await new Promise((resolve) => setTimeout(resolve, 0));
    await settle();
  };

  it("goes to the client's own origin only: another server's, even over https, is refused and sent nothing", async () => {
    // The token is the client's: it goes where the client was made for, as redirects are not followed.
    const sent: string[] = [];
    const recording: typeof fetch = async (input) => {
      sent.push((input as Request).url);
      return Response.json(pageFixture());
    };
    const error = await raw(recording)
      .GET(ROLES, { params: { path: BRANCH }, baseUrl: "https://attacker.example/v1" })
      .catch((e: unknown) => e as InvalidRequestError);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field: "request URL" });
    expect((error as InvalidRequestError).message).toBe(
      "request URL must be on https://api.test, the client's baseUrl, without a fragment (#…): credentials are never sent to another address. Nothing was sent.",
    );
    const { response } = await raw(recording).GET(ROLES, { params: { path: BRANCH, query: { page: 2 } } });
    expect(response.status).toBe(200);
    expect(sent).toEqual(["https://api.test/v1/organizations/acme/databases/app-db/branches/main/roles?page=2"]);
  });

  it("checks where a request really goes, not what a Request subclass or a middleware says of it", async () => {
    const sent: string[] = [];
    // The URL fetch uses is the Request's own, whatever a getter on a subclass answers.
    const recording: typeof fetch = async (input) => {
      sent.push(new Request(input as Request).url);
      return Response.json(pageFixture());
    };
    class Liar extends Request {
      constructor(_url: string | URL | Request, init?: RequestInit) {
        super("https://attacker.example/stolen", init);
      }
      override get url() {
        return "https://api.test/v1/organizations";
      }
    }
    const ps = raw(recording);
    const viaOption = await ps
      .GET(ROLES, { params: { path: BRANCH }, Request: Liar } as never)
      .catch((e: unknown) => e as InvalidRequestError);
    expect(viaOption).toBeInstanceOf(InvalidRequestError);
    const middleware = { onRequest: ({ request }: { request: Request }) => new Liar(request.url, request) };
    const viaMiddleware = await ps
      .GET(ROLES, { params: { path: BRANCH }, middleware: [middleware] } as never)
      .catch((e: unknown) => e as InvalidRequestError);
    expect(viaMiddleware).toBeInstanceOf(InvalidRequestError);
    expect(viaMiddleware).toMatchObject({ field: "request URL" });
    expect(sent).toEqual([]);
  });

  it("checks a plain Request's own url and redirect, not properties laid over them", async () => {
    const sent: string[] = [];
    const recording: typeof fetch = async (input) => {
      sent.push(new Request(input as Request).url);
      return Response.json(pageFixture());
    };
    const ps = raw(recording);
    // A plain Request (its prototype is Request's) with an own property that hides what fetch sends.
    const overlaid = (request: Request, key: "url" | "redirect", value: string) =>
      Object.defineProperty(request, key, { value });
    const elsewhere = {
      onRequest: ({ request }: { request: Request }) =>
        overlaid(new Request("https://attacker.example/stolen", request), "url", request.url),
    };
    const following = {
      onRequest: ({ request }: { request: Request }) =>
        overlaid(new Request(request, { redirect: "follow" }), "redirect", "manual"),
    };
    await expect(ps.GET(ROLES, { params: { path: BRANCH }, middleware: [elsewhere] } as never)).rejects.toMatchObject({
      field: "request URL",
    });
    await expect(ps.GET(ROLES, { params: { path: BRANCH }, middleware: [following] } as never)).rejects.toMatchObject({
      field: "redirect",
    });
    expect(sent).toEqual([]);
  });

  it("answered 204 resolves with that status and no body", async () => {
    const noContent: typeof fetch = async () => new Response(null, { status: 204 });
    const { data, response } = await raw(noContent).DELETE(`${ROLES}/{id}`, {
      params: { path: { ...BRANCH, id: "role-1" } },
    });
    expect(response.status).toBe(204);
    expect(data).toBeUndefined();
  });

  it("whose signal has already fired ends with its reason, though the fetch never answers", async () => {
    const reason = new Error("shutting down");
    const call = watch(raw(deaf).GET(ROLES, { params: { path: BRANCH }, signal: AbortSignal.abort(reason) }));
    await aTurnLater();
    expect(call.outcome).toBe(reason);
  });

  it("ends with the signal's reason when the caller aborts, though the fetch never answers", async () => {
    const controller = new AbortController();
    const call = watch(raw(deaf).GET(ROLES, { params: { path: BRANCH }, signal: controller.signal }));
    await aTurnLater();
    expect(call.outcome).toBe("pending");
    const reason = new Error("deploy cancelled");
    controller.abort(reason);
    await aTurnLater();
    expect(call.outcome).toBe(reason);
  });

  it("whose fetch throws at once leaves nothing to reject unhandled when its signal fires later", async () => {
    const unhandled: unknown[] = [];
    const note = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", note);
    try {
      const thrower = (() => {
        throw new TypeError("no network here");
      }) as typeof fetch;
      const controller = new AbortController();
      const error = await raw(thrower)
        .GET(ROLES, { params: { path: BRANCH }, signal: controller.signal })
        .catch((e: unknown) => e);
      expect(error).toEqual(new TypeError("no network here"));
      controller.abort(new Error("later"));
      await aTurnLater();
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", note);
    }
  });
});

describe("the guarded fetch", () => {
  const AUTHORIZATION = "Bearer pscale_oauth_x";
  const guarded = guardedFetch(async () => Response.json({}), AUTHORIZATION, new URL("https://api.test/v1"));
  const to = (url: string) => new Request(url, { headers: { authorization: AUTHORIZATION }, redirect: "manual" });

  it("lets a URL on the client's own checked origin through without parsing it again; refuses any other unparsed", async () => {
    const own = to("https://api.test/v1/organizations/acme/databases/app-db/branches/main/roles?page=2");
    const other = to("https://other.test/v1/organizations");
    const fragment = to("https://api.test/v1/roles#x");
    const parsed: string[] = [];
    const Parser = URL;
    vi.stubGlobal(
      "URL",
      class extends Parser {
        constructor(url: string | URL, base?: string | URL) {
          parsed.push(String(url));
          super(url, base);
        }
      },
    );
    try {
      await guarded(own);
      await expect(guarded(other)).rejects.toMatchObject({ field: "request URL" });
      await expect(guarded(fragment)).rejects.toThrow(/without a fragment/);
    } finally {
      vi.unstubAllGlobals();
    }
    expect(parsed).toEqual([]);
  });
});

describe("a fetch of the caller's that misbehaves", () => {
  const where = { ...BRANCH, name: "ci" };
  const create = (fetch: typeof globalThis.fetch, options = {}) =>
    createClient({ serviceToken: "id:secret", baseUrl: "https://api.test/v1", fetch, maxRetries: 0, ...options });

  it("and ignores the request's signal still ends at the deadline, on the client's clock", async () => {
    const clock = manualClock();
    let release: (() => void) | undefined;
    const deaf: typeof fetch = () =>
      new Promise<Response>((resolve) => {
        release = () => resolve(new Response("{}", { status: 500 }));
      });
    const call = failure(create(deaf, { clock }).createRole(where, { timeoutMs: 200 }));
    await clock.advance(200);
    const error = await call;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ outcomeUnknown: true });
    release?.();
  });

  it("and resolves to something that is not a Response is a failure whose outcome is unknown", async () => {
    const error = await failure(create(async () => ({}) as Response).createRole(where));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ requestSent: true, outcomeUnknown: true });
    expect(error.message).toMatch(/^create_role: the connection failed after the request was sent \(/);
    expect(error.message).toContain("(fetch returned no usable Response (a network error, or not a Response at all))");
    expect(error.message).toContain("may have been created");
  });

  it("and resolves to a network error (Response.error()) is a failure whose outcome is unknown", async () => {
    const error = await failure(create(async () => Response.error()).createRole(where));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ requestSent: true, outcomeUnknown: true });
  });
});

describe("another library's fetch, whose Response is not the platform's", () => {
  const client = (fetch: unknown, baseUrl = "https://api.test/v1") =>
    createClient({ serviceToken: "id:secret", baseUrl, fetch: fetch as typeof globalThis.fetch, maxRetries: 0 });

  it("from the undici package: a create's answer is read, password and all", async () => {
    await expect(client(undiciFetch, elsewhere.url).createRole({ ...BRANCH, name: "ci" })).resolves.toMatchObject({
      password: roleFixture().password,
    });
  });

  // node-fetch's Response: a body that is a Node stream, headers of its own class.
  const nodeStyle = (status: number, parts: string[]) => async () => ({
    status,
    statusText: "",
    ok: status < 300,
    headers: new Headers({ "content-type": "application/json" }),
    body: Readable.from(parts.map((part) => Buffer.from(part))),
  });

  it("whose body is a Node stream (node-fetch's): a create's answer is read, and a 204 is empty", async () => {
    const text = JSON.stringify(roleFixture());
    await expect(
      client(nodeStyle(201, [text.slice(0, 9), text.slice(9)])).createRole({ ...BRANCH, name: "ci" }),
    ).resolves.toMatchObject({ password: roleFixture().password });
    await expect(client(nodeStyle(204, [])).deleteRole({ ...BRANCH, id: "role-1" })).resolves.toBeUndefined();
  });
});

describe("tokens, failures and bodies", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const CAP = 4 * 1024 * 1024;
  const server = serverForTests({ reset: true });

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
  const detached: typeof fetch = (input, init) => fetch(new Request(input, { ...init, signal: null }));

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
      const user = refusal(() =>
        createClient({ serviceToken: "id:secret", baseUrl: "https://deploy-bot@example.com" }),
      );
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
        expect((error as InvalidRequestError).message).toMatch(
          /^request URL must be on http:\/\/127\.0\.0\.1:\d+, the client's baseUrl/,
        );
        expect(elsewhere.requests).toHaveLength(0);
      } finally {
        await elsewhere.close();
      }
    });
    it("refuses a raw call that brings its own fetch, which would skip these rules, and sends nothing", async () => {
      let reached = false;
      const own: typeof fetch = async () => {
        reached = true;
        return new Response("{}");
      };
      const error = await client()
        .raw.GET("/organizations/{organization}/databases/{database}/branches/{branch}/roles", {
          params: { path: BRANCH },
          baseUrl: "http://plain.example/v1",
          fetch: own,
        })
        .catch((e: unknown) => e as InvalidRequestError);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ field: "fetch" });
      expect(reached).toBe(false);
    });

    it("refuses a raw call that asks to follow redirects, and sends nothing", async () => {
      const before = server.requests.length;
      const error = await client()
        .raw.GET("/organizations/{organization}/databases/{database}/branches/{branch}/roles", {
          params: { path: BRANCH },
          redirect: "follow",
        })
        .catch((e: unknown) => e as InvalidRequestError);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ field: "redirect" });
      expect((error as InvalidRequestError).message).toBe(
        'redirect must be "manual": redirects are never followed; got "follow"',
      );
      expect(server.requests).toHaveLength(before);
    });

    it.each([
      ["a bare ?", "https://api.example.test/v1?"],
      ["a bare #", "https://api.example.test/v1#"],
    ])("refuses a baseUrl ending in %s, under which every path would be a query or a fragment", (_, baseUrl) => {
      const error = refusal(() => createClient({ serviceToken: "id:secret", baseUrl }));
      expect(error.field).toBe("baseUrl");
      expect(error.message).toMatch(/query|fragment/);
    });

    it("takes a Response that a fetch hands back without a promise", async () => {
      const ps = createClient({
        serviceToken: "id:secret",
        baseUrl: "https://api.example.test/v1",
        fetch: (() => Response.json(roleFixture())) as unknown as typeof fetch,
      });
      await expect(ps.getRole(ROLE)).resolves.toMatchObject({ id: roleFixture().id });
    });

    it("refuses fetch: null rather than falling back to the global fetch", () => {
      const error = refusal(() => createClient({ serviceToken: "id:secret", fetch: null as unknown as typeof fetch }));
      expect(error.field).toBe("fetch");
      expect(error.message).toContain("got null");
    });

    it("refuses a raw call to the client's own server with a fragment, and sends nothing", async () => {
      // The client's own origin is let through without a second parse; a fragment still is not.
      const before = server.requests.length;
      const error = await client()
        .raw.GET(
          "/organizations/{organization}/databases/{database}/branches/{branch}/roles#page-2" as never,
          {
            params: { path: BRANCH },
          } as never,
        )
        .catch((e: unknown) => e as InvalidRequestError);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ field: "request URL" });
      expect((error as InvalidRequestError).message).toMatch(/fragment/);
      expect(server.requests).toHaveLength(before);
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

    it.each(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"])(
      "counts a certificate outside its dates (%s, one of the CERT_ codes) as not sent",
      async (code) => {
        const refused = client({
          fetch: async () => {
            throw new TypeError("fetch failed", { cause: Object.assign(new Error("certificate"), { code }) });
          },
        });
        const error = await failure(refused.createRole({ ...BRANCH, name: "ci" }));
        expect(error).toBeInstanceOf(ConnectionError);
        expect(error).toMatchObject({ requestSent: false, outcomeUnknown: false });
        expect(error.message).toBe(`create_role: could not connect; nothing was sent (${code})`);
      },
    );

    it("gives the message of a custom fetch's own error", async () => {
      const refusing = client({
        fetch: async () => {
          throw new Error("proxy refused the tunnel");
        },
      });
      const named = await failure(refusing.getRole(ROLE));
      expect(named).toBeInstanceOf(ConnectionError);
      expect(named.message).toBe(
        "get_role: the connection failed after the request was sent (proxy refused the tunnel)",
      );
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
        init?.signal?.addEventListener("abort", () => controller.abort(new Error("relayed")));
        return fetch(input, init);
      };
      const clock = manualClock();
      const ps = client({ fetch: relaying, clock });
      const call = failure(ps.getRole(ROLE, { signal: controller.signal, timeoutMs: 100 }));
      await waitFor(() => server.requests.length === 1, "the request at the hanging server");
      await clock.advance(100);
      const error = await call;
      expect(controller.signal.aborted).toBe(true);
      expect(error).toBeInstanceOf(TimeoutError);
    });

    it("ends a create aborted by the caller in an AbortError that says the role may exist", async () => {
      server.next(hang);
      const controller = new AbortController();
      const call = failure(client().createRole({ ...BRANCH, name: "ci" }, { signal: controller.signal }));
      // Cancelled once the create has reached the server, as a deploy would be.
      await waitFor(() => server.requests.length === 1, "the create at the hanging server");
      controller.abort(new Error("deploy cancelled"));
      const error = await call;
      expect(error).toBeInstanceOf(AbortError);
      expect(error.message).toMatch(
        /^create_role was aborted by the caller's signal\. The outcome is unknown: the role may have been created/,
      );
      expect(error.outcomeUnknown).toBe(true);
    });
  });

  describe("reading a body", () => {
    it("reads an answer without a body (a 204's) as empty text", async () => {
      const never = new Promise<never>(() => {});
      expect(await readBody(null, never)).toEqual({ text: "" });
      expect(await readBody(new Response(null, { status: 204 }).body, never)).toEqual({ text: "" });
    });

    it("keeps an empty 2xx create answer as an empty body", async () => {
      server.next((_req, res) => res.writeHead(200, { "content-length": "0" }).end());
      const error = await failure(client().createRole({ ...BRANCH, name: "ci" }));
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toMatch(/^create_role answered 200 with a body that is not JSON\./);
      expect((error as UnexpectedResponseError).body).toBe("");
    });

    it("ends a stalled body at the deadline even when the fetch does not tie the body to the signal", async () => {
      server.next(stall('{"id":"role-1"'));
      const clock = manualClock();
      const headers = notingHeaders(detached);
      let settled = false;
      const call = failure(client({ fetch: headers.fetch, clock }).getRole(ROLE, { timeoutMs: 300 })).finally(() => {
        settled = true;
      });
      await waitFor(headers.arrived, "the stalled answer's headers");
      await clock.advance(299);
      expect(settled).toBe(false);
      await clock.advance(1);
      const error = await call;
      expect(error).toBeInstanceOf(TimeoutError);
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
});

describe("connections and bodies", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const FAST = { baseMs: 5, maxMs: 20 };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() =>
    createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 2 }),
  );

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
      const start = '{"id":"role-9","password":"pw-partial"';
      server.next(trickle(start));
      // The deadline on a clock the test steers, moved once the client has read the start.
      const clock = manualClock();
      let read = 0;
      const counting: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        const noted = response.body?.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            transform(chunk, controller) {
              read += chunk.byteLength;
              controller.enqueue(chunk);
            },
          }),
        );
        return new Response(noted, response);
      };
      const trickled = createClient({ serviceToken: "id:secret", baseUrl: server.url, fetch: counting, clock });
      const call = failure(trickled.createRole({ ...BRANCH, name: "ci" }, { timeoutMs: 300 }));
      await waitFor(() => read >= start.length, "the start of the body, read by the client");
      await clock.advance(300);
      const error = await call;
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
});

describe("headers on the wire", () => {
  const TOKEN = "pscale_tkn_Outsider-Secret-7";
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() =>
    createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: server.url, backoff: { baseMs: 5, maxMs: 5 } }),
  );

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
});
