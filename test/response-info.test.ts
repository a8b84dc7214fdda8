// What a service needs from a successful call besides its result: the answer's status, headers and
// request id (withResponse), headers of its own on a call (tracing), and word of each retry.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createClient, InvalidRequestError, type PlanetScaleClient, type RetryEvent } from "../src/index.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { json, resetAfterBody, startServer, type TestServer } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
let server: TestServer;
let ps: PlanetScaleClient;

beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: { baseMs: 5, maxMs: 5 } });
});

describe("withResponse", () => {
  it("gives the result, the status, the headers and the request id of a create", async () => {
    server.next(json(200, roleFixture(), { "x-request-id": "req-42", "x-ratelimit-remaining": "599" }));
    const { data, response, requestId } = await ps.createRole({ ...BRANCH, name: "ci" }).withResponse();
    expect(data.password).toBe(roleFixture().password);
    expect(response.status).toBe(200);
    expect(response.headers.get("x-ratelimit-remaining")).toBe("599");
    expect(requestId).toBe("req-42");
    expect(server.requests).toHaveLength(1);
  });

  it("leaves what the method resolves to as it was", async () => {
    server.next(json(200, roleFixture(), { "x-request-id": "req-43" }));
    const promise = ps.getRole(ROLE);
    const role = await promise;
    expect(role.id).toBe("role-1");
    expect(Object.keys(role)).not.toContain("response");
    // Asking afterwards gives the same answer: the call is not sent again.
    expect((await promise.withResponse()).requestId).toBe("req-43");
    expect(server.requests).toHaveLength(1);
  });

  it("gives the fetch's own Response, whose url is where the request went", async () => {
    const { response } = await ps.getRole(ROLE).withResponse();
    expect(response.url).toBe(`${server.url}/organizations/acme/databases/app-db/branches/main/roles/role-1`);
  });

  it("works for operations that answer 204, and for a delete whose repeat found the role gone", async () => {
    server.next(json(204, "", { "x-request-id": "req-del" }));
    const deleted = await ps.deleteRole(ROLE).withResponse();
    expect(deleted).toMatchObject({ data: undefined, requestId: "req-del" });
    expect(deleted.response.status).toBe(204);

    server.next(resetAfterBody, json(404, { code: "not_found", message: "gone" }, { "x-request-id": "req-404" }));
    const repeated = await ps.deleteRole(ROLE).withResponse();
    expect(repeated.data).toBeUndefined();
    expect(repeated.response.status).toBe(404);
    expect(repeated.requestId).toBe("req-404");
  });

  it("rejects as the call does, and only once", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      server.next(json(404, { code: "not_found", message: "no role" }));
      await expect(ps.getRole(ROLE, { maxRetries: 0 }).withResponse()).rejects.toMatchObject({ status: 404 });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("carries the answer's headers on an error too", async () => {
    server.next(json(403, { code: "forbidden", message: "no" }, { "x-ratelimit-remaining": "12" }));
    const error = (await ps.getRole(ROLE).catch((e: unknown) => e)) as { headers?: Headers };
    expect(error.headers?.get("x-ratelimit-remaining")).toBe("12");
  });
});

describe("per-request headers", () => {
  it("are sent with the call, beside the client's own", async () => {
    await ps.getRole(ROLE, { headers: { traceparent: "00-abc-def-01", "X-Team": "data" } });
    const [request] = server.requests;
    expect(request?.headers.traceparent).toBe("00-abc-def-01");
    expect(request?.headers["x-team"]).toBe("data");
    expect(request?.headers.authorization).toBe("id:secret");
    expect(request?.headers["user-agent"]).toMatch(/^planetscale-roles\//);
  });

  it.each(["Authorization", "authorization"])(
    "never replace the credentials header (%s), and nothing is sent",
    async (name) => {
      const error = await ps.getRole(ROLE, { headers: { [name]: "Bearer stolen" } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ field: `headers[${JSON.stringify(name)}]` });
      expect((error as Error).message).not.toContain("stolen");
      expect(server.requests).toHaveLength(0);
    },
  );

  it("refuse a value that could smuggle in another header, or a name that is not one", async () => {
    await expect(ps.getRole(ROLE, { headers: { "x-a": "1\r\nx-b: 2" } })).rejects.toMatchObject({
      field: 'headers["x-a"]',
    });
    await expect(ps.getRole(ROLE, { headers: { "x a": "1" } })).rejects.toMatchObject({ field: 'headers["x a"]' });
    await expect(ps.getRole(ROLE, { headers: { "x-n": 5 } as never })).rejects.toBeInstanceOf(InvalidRequestError);
    expect(server.requests).toHaveLength(0);
  });
});

describe("onRetry", () => {
  it("hears of each retry before the wait, with the reason and the delay", async () => {
    const events: RetryEvent[] = [];
    const heard: number[] = [];
    const client = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      backoff: { baseMs: 40, maxMs: 40 },
      onRetry: (event) => {
        events.push(event);
        heard.push(server.requests.length);
      },
    });
    server.next(json(503, { code: "unavailable", message: "busy" }), json(429, {}, { "retry-after": "0" }));
    await client.getRole(ROLE);
    expect(events.map((event) => [event.operation, event.attempt, event.error.name])).toEqual([
      ["get_role", 1, "ServerError"],
      ["get_role", 2, "RateLimitError"],
    ]);
    expect(events[0]?.delayMs).toBeGreaterThanOrEqual(20);
    expect(events[0]?.delayMs).toBeLessThanOrEqual(40);
    // A Retry-After of 0 says nothing of when: the backoff applies, as without one.
    expect(events[1]?.delayMs).toBeGreaterThanOrEqual(20);
    expect(events[1]?.delayMs).toBeLessThanOrEqual(40);
    // Told before the next attempt went out.
    expect(heard).toEqual([1, 2]);
    expect(server.requests).toHaveLength(3);
  });

  it("that throws changes nothing", async () => {
    const client = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      backoff: { baseMs: 5, maxMs: 5 },
      onRetry: () => {
        throw new Error("hook failed");
      },
    });
    server.next(json(503, { code: "unavailable", message: "busy" }));
    await expect(client.getRole(ROLE)).resolves.toMatchObject({ id: "role-1" });
  });

  it("is refused when it is not a function", () => {
    expect(() => createClient({ serviceToken: "id:secret", baseUrl: server.url, onRetry: "x" as never })).toThrow(
      expect.objectContaining({ field: "onRetry" }),
    );
  });
});
