// Shared deadlines and the gate's own failures: what is left open after calls, what keeps a process
// alive, and what a call that never left the gate says; and 429s with the gate turned off.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AbortError, createClient, RateLimitError, TimeoutError } from "../src/index.ts";
import { openDeadlines } from "../src/transport.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { hang, json, startServer, type TestServer } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
let server: TestServer;
let hanging: TestServer;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
  hanging = await startServer(hang);
});
afterAll(async () => {
  await server.close();
  await hanging.close();
});
beforeEach(() => server.reset());

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("shared deadlines", () => {
  it("leave at most the last idle one open, and none keeps the process alive", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url });
    await Promise.all(Array.from({ length: 30 }, () => ps.getRole(ROLE, { timeoutMs: 60_000 })));
    await pause(20);
    await ps.getRole(ROLE, { timeoutMs: 60_000 });
    expect(openDeadlines()).toEqual({ open: 1, holdingTheProcess: 0 });
  });

  it("are never dropped while a call still runs under one", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, maxRetries: 0 });
    const answering = createClient({ serviceToken: "id:secret", baseUrl: server.url });
    const started = Date.now();
    const stuck = failure(ps.getRole(ROLE, { timeoutMs: 300 }));
    await pause(20);
    // A new deadline is made here; the stuck call's, still in use, must stay and fire.
    await answering.getRole(ROLE, { timeoutMs: 5_000 });
    const error = await stuck;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it("are gone once they fire", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, maxRetries: 0 });
    await pause(20);
    // Making this call's deadline drops every idle one; when it fires, it goes too.
    await failure(ps.getRole(ROLE, { timeoutMs: 50 }));
    expect(openDeadlines().open).toBe(0);
  });
});

describe("a call that never left the gate", () => {
  it("says so when its signal fires while it waits for a place", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, maxConcurrency: 1, maxRetries: 0 });
    const first = failure(ps.getRole(ROLE, { timeoutMs: 400 }));
    const controller = new AbortController();
    const second = failure(ps.getRole(ROLE, { signal: controller.signal }));
    await pause(30);
    controller.abort();
    const error = await second;
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toBe(
      "get_role was aborted by the caller's signal while waiting at the rate-limit gate; nothing was sent",
    );
    expect(error.outcomeUnknown).toBe(false);
    await first;
  });

  it("says so when its deadline passes while it waits for a place", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, maxConcurrency: 1, maxRetries: 0 });
    const first = failure(ps.getRole(ROLE, { timeoutMs: 400 }));
    const error = await failure(ps.getRole(ROLE, { timeoutMs: 100 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error.message).toBe(
      "get_role timed out after 100 ms (timeoutMs) while waiting at the rate-limit gate; nothing was sent",
    );
    expect(error.outcomeUnknown).toBe(false);
    await first;
  });
});

describe("429s with the gate turned off", () => {
  const ungated = (maxRetryAfterMs?: number) =>
    createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      rateLimiter: false,
      backoff: { baseMs: 5, maxMs: 5, ...(maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs }) },
    });
  const limited = (retryAfter?: string) =>
    json(429, { code: "too_many_requests", message: "slow down" }, retryAfter ? { "retry-after": retryAfter } : {});

  it("wait the Retry-After (plus at most a quarter of it) before the call is sent again", async () => {
    server.next(limited("1"));
    const started = Date.now();
    await ungated().getRole(ROLE);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(990);
    expect(waited).toBeLessThan(1_400);
    expect(server.requests).toHaveLength(2);
  });

  it("are not waited for past maxRetryAfterMs: the RateLimitError carries the wait", async () => {
    server.next(limited("2"));
    const error = await failure(ungated(1_999).getRole(ROLE));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(2_000);
    expect(server.requests).toHaveLength(1);
  });

  it("wait exactly a Retry-After equal to maxRetryAfterMs", async () => {
    server.next(limited("1"));
    await ungated(1_000).getRole(ROLE);
    expect(server.requests).toHaveLength(2);
  });

  it("back off without a Retry-After", async () => {
    server.next(limited(), limited());
    const started = Date.now();
    await ungated().getRole(ROLE);
    expect(Date.now() - started).toBeLessThan(500);
    expect(server.requests).toHaveLength(3);
  });
});
