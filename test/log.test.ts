// What this file proves: what the client tells the caller's logger and hooks (the path with its
// query, the duration, a stalled body as a TimeoutError), and that a logger or hook that throws or
// rejects changes nothing.

import { describe, expect, it } from "vitest";
import { createClient, NotFoundError, type RequestLogEvent, TimeoutError } from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { serverForTests } from "./support/per-test.ts";
import { json } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
const server = serverForTests({ reset: true });

const client = (options: Parameters<typeof createClient>[0] = {}) =>
  createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0, ...options });

describe("the log", () => {
  it("gives the path with its query, and a duration no longer than the call took", async () => {
    server.next(json(200, pageFixture({ current_page: 2 })));
    const events: RequestLogEvent[] = [];
    const started = performance.now();
    await client({ logger: (event) => events.push(event) }).listRoles({ ...BRANCH, page: 2, per_page: 5, q: "ci" });
    const took = performance.now() - started;
    expect(events).toHaveLength(1);
    expect(events[0]?.path).toBe("/organizations/acme/databases/app-db/branches/main/roles?page=2&per_page=5&q=ci");
    expect(events[0]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(events[0]?.durationMs).toBeLessThanOrEqual(Math.ceil(took));
  });

  it("records an answer whose body stalled past the deadline as a TimeoutError after status 200", async () => {
    server.next((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"id":');
    });
    const events: RequestLogEvent[] = [];
    const error = await failure(client({ logger: (event) => events.push(event) }).getRole(ROLE, { timeoutMs: 300 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(events).toEqual([expect.objectContaining({ operation: "get_role", status: 200, error: "TimeoutError" })]);
  });
});

describe("loggers and hooks that fail", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const _FAST = { baseMs: 5, maxMs: 20 };
  const server = serverForTests({ reset: true });

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
});

describe("hooks that fail", () => {
  const TOKEN = "pscale_tkn_Outsider-Secret-7";
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });

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
});
