// What the client waits before sending again, measured where the requests arrive, and what it
// reads from Retry-After, as the RateLimitError a caller gets.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { AbortError, createClient, RateLimitError } from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { type Handler, json, startServer, type TestServer } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
let server: TestServer;
/** When each request arrived, in performance.now() ms. */
let arrivals: number[];

beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  arrivals = [];
});

/** Answers as `handler` does, noting when the request arrived. */
const timed =
  (handler: Handler): Handler =>
  (request, res, socket) => {
    arrivals.push(performance.now());
    handler(request, res, socket);
  };
const limited = (retryAfter?: string) =>
  timed(
    json(
      429,
      { code: "rate_limited", message: "slow down" },
      retryAfter === undefined ? {} : { "retry-after": retryAfter },
    ),
  );

describe("Retry-After as the server wrote it", () => {
  it("reads an RFC 850 date with a two-digit year exactly 50 years ahead as the future (RFC 9110 §5.6.7)", async () => {
    const yy = String((new Date().getUTCFullYear() + 50) % 100).padStart(2, "0");
    server.next(limited(`Saturday, 01-Jan-${yy} 00:00:00 GMT`));
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 });
    const error = await failure(ps.getRole(ROLE));
    expect(error).toBeInstanceOf(RateLimitError);
    const fortyNineYearsMs = 49 * 365 * 24 * 3600 * 1000;
    expect((error as RateLimitError).retryAfterMs).toBeGreaterThan(fortyNineYearsMs);
  });

  it("waits a Retry-After equal to maxRetryAfterMs, then sends again", async () => {
    server.next(limited("1"), timed(json(200, roleFixture())));
    const ps = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      maxRetries: 1,
      backoff: { maxRetryAfterMs: 1_000 },
    });
    await expect(ps.getRole(ROLE)).resolves.toMatchObject({ id: "role-1" });
    expect(arrivals).toHaveLength(2);
    expect((arrivals[1] as number) - (arrivals[0] as number)).toBeGreaterThanOrEqual(950);
  });

  it("sends again at once after Retry-After: 0, with no jitter added", async () => {
    server.next(limited("0"), limited("0"), limited("0"), limited("0"), limited("0"), timed(json(200, roleFixture())));
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 5 });
    const started = performance.now();
    await expect(ps.getRole(ROLE)).resolves.toMatchObject({ id: "role-1" });
    expect(arrivals).toHaveLength(6);
    // Five waits with a jitter of up to 1 s each would add about 2.5 s.
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("backs off after a 429 that gives no Retry-After, rather than sending again at once", async () => {
    server.next(limited(), timed(json(200, roleFixture())));
    const ps = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      maxRetries: 1,
      backoff: { baseMs: 400, maxMs: 400 },
    });
    await expect(ps.getRole(ROLE)).resolves.toMatchObject({ id: "role-1" });
    // Full jitter on the upper half: the first backoff is 200–400 ms.
    expect((arrivals[1] as number) - (arrivals[0] as number)).toBeGreaterThanOrEqual(190);
  });
});

describe("an abort while waiting to send again", () => {
  it("ends the call at once, says what it was waiting after, and leaves no timer behind", async () => {
    server.next(json(503, { code: "unavailable", message: "try later" }));
    const ps = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      maxRetries: 1,
      backoff: { baseMs: 4_000, maxMs: 4_000 },
    });
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === "Timeout").length;
    const controller = new AbortController();
    const reason = new Error("shutting down");
    const call = failure(ps.getRole(ROLE, { signal: controller.signal }));
    while (server.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    // The 503 has been answered by now: the client is waiting its 2–4 s backoff.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const timersWhileWaiting = timers();
    const aborted = performance.now();
    controller.abort(reason);
    const error = await call;
    expect(performance.now() - aborted).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toMatch(
      /^get_role was aborted while waiting to retry after: get_role failed: 503 unavailable/,
    );
    expect(error).toMatchObject({ operation: "get_role", outcomeUnknown: true, cause: reason });
    expect(server.requests).toHaveLength(1);
    // The backoff's timer was pending while waiting; the abort cleared it.
    expect(timers()).toBe(timersWhileWaiting - 1);
  });

  it("ends the call at once when the signal fires as the failed answer arrives", async () => {
    server.next(json(503, { code: "unavailable", message: "try later" }));
    const controller = new AbortController();
    // The caller gives up at the moment the 503 comes in, before the client starts to wait.
    const abortOnAnswer: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      controller.abort(new Error("gave up"));
      return response;
    };
    const ps = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      fetch: abortOnAnswer,
      maxRetries: 1,
      backoff: { baseMs: 4_000, maxMs: 4_000 },
    });
    const started = performance.now();
    const error = await failure(ps.getRole(ROLE, { signal: controller.signal }));
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toContain("was aborted while waiting to retry after");
    expect(server.requests).toHaveLength(1);
  });
});
