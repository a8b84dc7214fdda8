// The Redis rate limiter against a real redis-server: clients that share it share one hold and one
// pace; a key is one budget; and when Redis dies, freezes or was never there, calls still succeed,
// paced locally, with one warning. Each client has its own limiter and so its own Redis connection,
// as separate processes would (bench/fleet.ts runs real processes).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClient, DEFAULT_MAX_CONCURRENCY, type RateLimiter } from "../src/index.ts";
import { createRedisRateLimiter, type RedisRateLimiter, type RedisRateLimiterOptions } from "../src/redis/index.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { startRateLimitedServer } from "./support/rate-limited-server.ts";
import { type RedisServer, startRedisServer } from "./support/redis-server.ts";
import { closedPort, type Handler, json, startServer, type TestServer } from "./support/servers.ts";

const RATE_LIMITED = json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "1" });

let redis: RedisServer;
const open: RedisRateLimiter[] = [];
const servers: { close(): Promise<void> }[] = [];
let keys = 0;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(async () => {
  for (const limiter of open.splice(0)) limiter.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(() => redis?.stop());

/** A limiter on its own connection; each test gets its own budget unless it names a key. */
function sharedLimiter(options: Partial<RedisRateLimiterOptions> = {}): RedisRateLimiter {
  const limiter = createRedisRateLimiter({ url: redis.url, key: `test-${keys}`, onWarning: () => {}, ...options });
  open.push(limiter);
  return limiter;
}

function clientOf(rateLimiter: RateLimiter, baseUrl: string, options: { maxRetries?: number } = {}) {
  return createClient({ serviceToken: "a:b", baseUrl, rateLimiter, ...options });
}

/** A server that answers 429 (Retry-After: 1 s, or `retryAfter`) first, then creates, noting when each create arrived. */
async function limitedOnce(retryAfter = "1"): Promise<{ server: TestServer; arrivals: number[] }> {
  const arrivals: number[] = [];
  const created: Handler = (request, res, socket) => {
    arrivals.push(performance.now());
    json(200, roleFixture())(request, res, socket);
  };
  const server = await startServer(created);
  server.next(json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": retryAfter }));
  servers.push(server);
  return { server, arrivals };
}

/** A signal the caller aborts (not a timeout) after `ms`. */
function abortedAfter(ms: number): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(), ms);
  return controller.signal;
}

/** Meets the 429 with a client that does not retry, so that only the hold remains; returns when it was seen. */
async function meetLimit(rateLimiter: RateLimiter, baseUrl: string): Promise<number> {
  const error = await clientOf(rateLimiter, baseUrl, { maxRetries: 0 })
    .createRole({ ...BRANCH, name: "meets-the-limit" })
    .catch((reason: unknown) => reason);
  expect((error as Error).name).toBe("RateLimitError");
  return performance.now();
}

describe("clients sharing one Redis budget", () => {
  it("see one shared hold (two at most) and few 429s when together they exceed a token bucket", async () => {
    keys++;
    const bucket = await startRateLimitedServer(50, 100);
    servers.push(bucket);
    const limited: number[] = [];
    const warnings: string[] = [];
    const clients = Array.from({ length: 4 }, () =>
      createClient({
        serviceToken: "a:b",
        baseUrl: bucket.url,
        rateLimiter: sharedLimiter({ onWarning: (message) => warnings.push(message) }),
        fetch: async (input, init) => {
          const response = await fetch(input, init);
          if (response.status === 429) limited.push(performance.now());
          return response;
        },
      }),
    );
    const results = await Promise.allSettled(
      clients.flatMap((client, c) =>
        Array.from({ length: 30 }, (_, i) => client.createRole({ ...BRANCH, name: `fleet-${c}-${i}` })),
      ),
    );
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);
    expect(new Set(bucket.created).size).toBe(120);
    expect(bucket.created).toHaveLength(120);
    expect(warnings).toEqual([]);
    // A hold starts at a 429 that arrives after the previous hold has ended (Retry-After is 1 s).
    let holds = 0;
    let holdEnd = Number.NEGATIVE_INFINITY;
    for (const at of limited) {
      if (at >= holdEnd) {
        holds++;
        holdEnd = at + 1_000;
      }
    }
    // One hold for the fleet, and at most one more at its end: the pace learns its burst from what
    // got through before the first hold, which counts what the bucket refilled meanwhile too.
    expect(holds).toBeGreaterThanOrEqual(1);
    expect(holds).toBeLessThanOrEqual(2);
    // Only calls already in flight when the bucket ran dry meet it: at most each client's cap, for
    // the whole run (without a gate, every call past the burst meets it, most of them several times).
    expect(bucket.limited).toBeLessThanOrEqual(4 * DEFAULT_MAX_CONCURRENCY);
  }, 20_000);

  it("hold every client when one of them meets a 429, until its Retry-After has passed", async () => {
    keys++;
    const { server, arrivals } = await limitedOnce("1");
    const seen = await meetLimit(sharedLimiter(), server.url);
    const role = await clientOf(sharedLimiter(), server.url).createRole({ ...BRANCH, name: "after-the-hold" });
    expect(role.name).toBe(roleFixture().name);
    expect(arrivals).toHaveLength(1);
    expect((arrivals[0] as number) - seen).toBeGreaterThanOrEqual(950);
  });

  it("let a call that waits at the shared hold leave at once when its signal aborts, unsent", async () => {
    keys++;
    const { server } = await limitedOnce("5");
    await meetLimit(sharedLimiter(), server.url);
    const started = performance.now();
    const error = await clientOf(sharedLimiter(), server.url)
      .createRole({ ...BRANCH, name: "given-up" }, { signal: abortedAfter(200) })
      .catch((reason: unknown) => reason);
    expect((error as Error).name).toBe("AbortError");
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(server.requests).toHaveLength(1);
  });

  it("keep budgets apart by key: a hold on one key leaves another key's calls free", async () => {
    keys++;
    const { server, arrivals } = await limitedOnce("5");
    await meetLimit(sharedLimiter({ key: "tenant-a" }), server.url);
    const sent = performance.now();
    await clientOf(sharedLimiter({ key: "tenant-b" }), server.url).createRole({ ...BRANCH, name: "other-key" });
    expect((arrivals[0] as number) - sent).toBeLessThan(500);
    const held = await clientOf(sharedLimiter({ key: "tenant-a" }), server.url)
      .createRole({ ...BRANCH, name: "same-key" }, { signal: abortedAfter(300) })
      .catch((reason: unknown) => reason);
    expect((held as Error).name).toBe("AbortError");
    expect(server.requests).toHaveLength(2);
  });
});

describe("when Redis is not there", () => {
  it("completes every call when Redis is killed mid-run, warns once, and shares again once Redis is back", async () => {
    const own = await startRedisServer();
    try {
      const warnings: string[] = [];
      const bucket = await startRateLimitedServer(50, 100);
      servers.push(bucket);
      const limiter = sharedLimiter({ url: own.url, onWarning: (message) => warnings.push(message) });
      const ps = clientOf(limiter, bucket.url);
      const calls = Array.from({ length: 150 }, (_, i) => ps.createRole({ ...BRANCH, name: `outage-${i}` }));
      while (bucket.created.length < 40) await new Promise((resolve) => setTimeout(resolve, 5));
      await own.kill();
      const results = await Promise.allSettled(calls);
      expect(results.filter((result) => result.status === "rejected")).toEqual([]);
      expect(new Set(bucket.created).size).toBe(150);
      expect(bucket.created).toHaveLength(150);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`127.0.0.1:${own.port}`);

      // Back on Redis: a 429 that another client meets holds this limiter's calls again.
      await own.restart();
      const { server, arrivals } = await limitedOnce("1");
      server.reset();
      const meeting = sharedLimiter({ url: own.url });
      const probe = clientOf(limiter, server.url);
      const deadline = performance.now() + 8_000;
      let seen = 0;
      for (;;) {
        server.next(RATE_LIMITED);
        seen = await meetLimit(meeting, server.url);
        await probe.createRole({ ...BRANCH, name: "probe" });
        if ((arrivals.at(-1) as number) - seen >= 950 || performance.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect((arrivals.at(-1) as number) - seen).toBeGreaterThanOrEqual(950);
      expect(warnings).toHaveLength(1);
    } finally {
      await own.stop();
    }
  }, 20_000);

  it("bounds a call's wait by the command timeout when Redis stops answering", async () => {
    const own = await startRedisServer();
    try {
      const warnings: string[] = [];
      const server = await startServer(json(200, roleFixture()));
      servers.push(server);
      const ps = clientOf(sharedLimiter({ url: own.url, onWarning: (m) => warnings.push(m) }), server.url);
      await ps.createRole({ ...BRANCH, name: "before" });
      own.freeze();
      const started = performance.now();
      await ps.createRole({ ...BRANCH, name: "frozen" });
      expect(performance.now() - started).toBeLessThan(1_500);
      await ps.createRole({ ...BRANCH, name: "still-frozen" });
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain("timed out");
    } finally {
      await own.stop();
    }
  });

  it("does not fail a call with a short deadline because Redis hangs", async () => {
    const own = await startRedisServer();
    try {
      const server = await startServer(json(200, roleFixture()));
      servers.push(server);
      const ps = clientOf(sharedLimiter({ url: own.url, onWarning: () => {} }), server.url);
      await ps.createRole({ ...BRANCH, name: "before" });
      own.freeze();
      await expect(ps.createRole({ ...BRANCH, name: "hurried" }, { timeoutMs: 300 })).resolves.toMatchObject({
        id: "role-1",
      });
    } finally {
      await own.stop();
    }
  });

  it("paces locally from the start when Redis cannot be reached, warning once without the URL's password", async () => {
    const port = await closedPort();
    const warnings: string[] = [];
    const limiter = sharedLimiter({ url: `redis://:hunter2@127.0.0.1:${port}`, onWarning: (m) => warnings.push(m) });
    const { server, arrivals } = await limitedOnce("1");
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => clientOf(limiter, server.url).createRole({ ...BRANCH, name: `alone-${i}` })),
    );
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);
    expect(arrivals).toHaveLength(5);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`127.0.0.1:${port}`);
    expect(warnings[0]).not.toContain("hunter2");
  });
});

describe("createRedisRateLimiter options", () => {
  it("keeps a call's outcome when the warning hook throws", async () => {
    const port = await closedPort();
    const limiter = sharedLimiter({
      url: `redis://127.0.0.1:${port}`,
      onWarning: () => {
        throw new Error("the hook broke");
      },
    });
    const server = await startServer(json(200, roleFixture()));
    servers.push(server);
    const role = await clientOf(limiter, server.url).createRole({ ...BRANCH, name: "hook-broke" });
    expect(role.name).toBe(roleFixture().name);
  });

  it.each([
    [{ url: "http://127.0.0.1:6379" }, "url must be a redis:// or rediss:// URL"],
    [{ url: "redis://127.0.0.1:6379", key: "" }, "key must be a non-empty string"],
    [{ url: "redis://127.0.0.1:6379", commandTimeoutMs: 0 }, "commandTimeoutMs must be a positive number"],
  ])("rejects %o naming the field", (options, message) => {
    expect(() => createRedisRateLimiter(options)).toThrow(message);
  });
});
