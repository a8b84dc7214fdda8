// The retry policy in action: the fault server counts what it really received.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  AbortError,
  ConnectionError,
  createClient,
  type PlanetScaleClient,
  RateLimitError,
  ServerError,
  TimeoutError,
} from "../src/index.ts";
import { backoffMs, defaultRetrySettings, operationPolicy, parseRetryAfter } from "../src/retry.ts";
import { manualClock, waitFor } from "./support/clock.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import {
  closedPort,
  hang,
  json,
  resetAfterBody,
  resetBeforeBody,
  startServer,
  type TestServer,
} from "./support/servers.ts";

const FAST = { baseMs: 10, maxMs: 50 };
let server: TestServer;
let ps: PlanetScaleClient;
const role = { ...BRANCH, id: "role-1" };

beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 3 });
});

describe("the retry table", () => {
  // Written out by hand from what repeating each operation does on PlanetScale's side, so that a
  // change to any row of operationPolicy has to be made here too, on purpose.
  it("says, for each operation, whether a repeat is harmless, whether it returns a password, and whether a 404 on a repeat is done", () => {
    const decisions = Object.fromEntries(
      Object.entries(operationPolicy).map(([operation, row]) => [
        operation,
        {
          repeatable: row.repeatable,
          returnsPassword: "returnsPassword" in row && row.returnsPassword === true,
          notFoundOnRepeatMeansDone: "notFoundOnRepeatMeansDone" in row && row.notFoundOnRepeatMeansDone === true,
        },
      ]),
    );
    const row = (repeatable: boolean, returnsPassword = false, notFoundOnRepeatMeansDone = false) => ({
      repeatable,
      returnsPassword,
      notFoundOnRepeatMeansDone,
    });
    expect(decisions).toEqual({
      create_role: row(false, true),
      list_roles: row(true),
      get_role: row(true),
      get_default_role: row(true),
      update_role: row(true),
      delete_role: row(true, false, true),
      renew_role: row(true),
      reset_role: row(true, true),
      reset_default_role: row(true, true),
      reassign_role_objects: row(true),
    });
  });

  it("gives the reasons in terms of what a repeat does", () => {
    expect(operationPolicy.create_role.because).toMatch(/mints another role/);
    expect(operationPolicy.delete_role.because).toMatch(/404/);
    expect(operationPolicy.reset_role.because).toMatch(/last answer's password/);
  });
});

describe("create_role is never repeated once it may have reached the server", () => {
  it.each([
    ["a 502", json(502, { code: "bad_gateway", message: "upstream failed" }), ServerError],
    ["a 500 without a body", json(500, ""), ServerError],
    ["a reset after the body was read", resetAfterBody, ConnectionError],
    ["a reset before the body was read", resetBeforeBody, ConnectionError],
  ])("does not repeat create_role after %s, and says the role may exist", async (_name, fault, ErrorClass) => {
    server.next(fault);
    const error = await ps.createRole({ ...BRANCH, name: "ci-reader" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ErrorClass);
    expect(server.requests).toHaveLength(1);
    expect(error).toMatchObject({ outcomeUnknown: true, operation: "create_role" });
    expect((error as Error).message).toMatch(/may have been created on acme\/app-db\/main/);
    expect((error as Error).stack).toContain("may have been created");
    expect((error as Error).message).toContain('listRoles({ organization, database, branch, q: "ci-reader" })');
  });

  it("does not repeat create_role after a timeout", async () => {
    server.next(hang);
    const clock = manualClock();
    const timed = createClient({ serviceToken: "id:secret", baseUrl: server.url, clock });
    const call = timed.createRole(BRANCH, { timeoutMs: 100 }).catch((e: unknown) => e);
    await waitFor(() => server.requests.length === 1, "the create to arrive");
    await clock.advance(100);
    const error = await call;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).outcomeUnknown).toBe(true);
    expect(server.requests).toHaveLength(1);
  });
});

describe("operations whose repetition is harmless", () => {
  it("repeats get_role after a 502 and a reset, and returns the answer", async () => {
    server.next(json(502, ""), resetAfterBody);
    const got = await ps.getRole(role);
    expect(got.id).toBe("role-1");
    expect(server.requests).toHaveLength(3);
  });

  it("repeats delete_role after a timeout", async () => {
    server.next(hang, (_req, res) => res.writeHead(204).end());
    await ps.deleteRole(role, { timeoutMs: 100 });
    expect(server.requests.map((r) => r.method)).toEqual(["DELETE", "DELETE"]);
  });

  it("stops after maxRetries and reports the last failure", async () => {
    server.next(json(503, ""), json(503, ""), json(503, ""), json(503, ""));
    const error = await ps.getRole(role, { maxRetries: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(server.requests).toHaveLength(3);
    await expect(ps.getRole(role, { maxRetries: 0 })).rejects.toBeInstanceOf(ServerError);
  });
});

describe("429", () => {
  it("waits Retry-After seconds, then sends create_role again", async () => {
    server.next(json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "1" }));
    const started = Date.now();
    const created = await ps.createRole(BRANCH);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(created.password).toBe(roleFixture().password);
    expect(server.requests).toHaveLength(2);
  });

  it("honours Retry-After given as an HTTP date", async () => {
    const when = new Date(Date.now() + 2_000).toUTCString();
    server.next(json(429, "", { "retry-after": when }));
    const started = Date.now();
    await ps.createRole(BRANCH);
    // HTTP dates have whole seconds, so the wait is between 1 and 2 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(server.requests).toHaveLength(2);
  });

  it("does not wait past the cap: the RateLimitError carries the wait", async () => {
    server.next(json(429, "", { "retry-after": "3600" }));
    const capped = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      backoff: { maxRetryAfterMs: 5_000 },
    });
    const error = await capped.createRole(BRANCH).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(3_600_000);
    expect(server.requests).toHaveLength(1);
  });

  it("backs off without Retry-After, and gives up after maxRetries", async () => {
    server.next(json(429, ""), json(429, ""), json(429, ""), json(429, ""));
    const error = await ps.createRole(BRANCH).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(server.requests).toHaveLength(4);
  });

  it("stops waiting when the caller aborts", async () => {
    server.next(json(429, "", { "retry-after": "30" }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const error = await ps.createRole(BRANCH, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.requests).toHaveLength(1);
  });
});

describe("connections that were never established", () => {
  it("are retried for create_role too, since nothing reached the server", async () => {
    // The port is closed for the first attempt and opened while the client backs off.
    const port = await closedPort();
    let late: TestServer | undefined;
    const client = createClient({
      serviceToken: "id:secret",
      baseUrl: `http://127.0.0.1:${port}`,
      backoff: { baseMs: 200, maxMs: 200 },
      logger: (event) => {
        if (event.attempt === 1 && event.error === "ConnectionError") {
          void startServer(json(200, roleFixture()), port).then((s) => {
            late = s;
          });
        }
      },
    });
    try {
      const created = await client.createRole(BRANCH);
      expect(created.username).toBe(roleFixture().username);
      expect(late?.requests).toHaveLength(1);
    } finally {
      await late?.close();
    }
  });

  it("end in a ConnectionError that says nothing was sent", async () => {
    const port = await closedPort();
    const client = createClient({
      serviceToken: "id:secret",
      baseUrl: `http://127.0.0.1:${port}`,
      maxRetries: 1,
      backoff: FAST,
    });
    const error = await client.createRole(BRANCH).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ requestSent: false, outcomeUnknown: false });
    expect((error as Error).message).toContain("nothing was sent");
  });
});

describe("backoff and Retry-After parsing", () => {
  it("doubles each step with jitter in the upper half, up to the cap", () => {
    const at = (random: number, retry: number) => backoffMs(retry, { ...defaultRetrySettings, random: () => random });
    expect([at(0, 1), at(1, 1)]).toEqual([250, 500]);
    expect([at(0, 3), at(1, 3)]).toEqual([1_000, 2_000]);
    expect(at(1, 10)).toBe(defaultRetrySettings.maxDelayMs);
  });

  it("reads seconds and HTTP dates, and ignores garbage", () => {
    const now = Date.parse("Sun, 29 Nov 2026 10:00:00 GMT");
    expect(parseRetryAfter("7", now)).toBe(7_000);
    expect(parseRetryAfter("Sun, 29 Nov 2026 10:00:05 GMT", now)).toBe(5_000);
    expect(parseRetryAfter("Sun, 29 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});
