// Deadlines and the gate's own failures: what is left open after calls, what keeps a process
// alive, and what a call that never left the gate says; and 429s with the gate turned off.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AbortError, createClient, RateLimitError, TimeoutError } from "../src/index.ts";
import { manualClock, waitFor } from "./support/clock.ts";
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

describe("deadlines on the client's clock", () => {
  it("fire when the clock reaches timeoutMs, not before", async () => {
    const clock = manualClock();
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, maxRetries: 0, clock });
    let settled = false;
    const stuck = failure(ps.getRole(ROLE, { timeoutMs: 300 })).finally(() => {
      settled = true;
    });
    await waitFor(() => hanging.requests.length === 1);
    await clock.advance(299);
    expect(settled).toBe(false);
    await clock.advance(1);
    const error = await stuck;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error?.message).toBe("get_role timed out after 300 ms (timeoutMs)");
  });

  it("are each call's own: a later call's deadline neither ends nor extends an earlier one", async () => {
    const clock = manualClock();
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, maxRetries: 0, clock });
    const first = failure(ps.getRole(ROLE, { timeoutMs: 300 }));
    await waitFor(() => hanging.requests.length === 1);
    await clock.advance(200);
    const second = failure(ps.getRole(ROLE, { timeoutMs: 300 }));
    await waitFor(() => hanging.requests.length === 2);
    await clock.advance(100);
    expect(await first).toBeInstanceOf(TimeoutError);
    let secondSettled = false;
    void second.finally(() => {
      secondSettled = true;
    });
    await clock.advance(199);
    expect(secondSettled).toBe(false);
    await clock.advance(1);
    expect(await second).toBeInstanceOf(TimeoutError);
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
