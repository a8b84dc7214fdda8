// The Redis rate limiter against a real redis-server: clients that share it share one hold and one
// pace; a key is one budget; and when Redis dies, freezes or was never there, calls still succeed,
// paced locally, with one warning. Each client has its own limiter and so its own Redis connection,
// as separate processes would (bench/fleet.ts runs real processes).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type Socket } from "node:net";
import { Cluster, Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type Clock, systemClock } from "../src/clock.ts";
import { Pace } from "../src/gate.ts";
import {
  createClient,
  DEFAULT_MAX_CONCURRENCY,
  InvalidRequestError,
  RateLimitError,
  type RateLimiter,
} from "../src/index.ts";
import { answerWithin, NoAnswerError } from "../src/redis/answer.ts";
import { credentialsIdentity } from "../src/redis/identity.ts";
import {
  createRedisRateLimiter,
  DEFAULT_KEY,
  type RedisRateLimiter,
  type RedisRateLimiterOptions,
} from "../src/redis/index.ts";
import { encodePace, readKept, UnusableReplyError } from "../src/redis/shared-pace.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { manualClock, waitFor } from "./support/clock.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { startRateLimitedServer } from "./support/rate-limited-server.ts";
import { type RedisServer, startGarbageRedis, startRedisCluster, startRedisServer } from "./support/redis-server.ts";
import { ROOT } from "./support/run.ts";
import { closedPort, type Handler, json, startServer, type TestServer } from "./support/servers.ts";

let redis: RedisServer;
const open: RedisRateLimiter[] = [];
const servers: { close(): Promise<void> }[] = [];
let keys = 0;
/** Reads the budgets the limiters keep. */
let inspector: Redis;
beforeAll(async () => {
  redis = await startRedisServer();
  inspector = new Redis(redis.url);
});
afterEach(async () => {
  for (const limiter of open.splice(0)) limiter.close();
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(async () => {
  inspector?.disconnect();
  await redis?.stop();
});

/** A limiter on its own connection; each test gets its own budget unless it names a key. */
// A Redis process starved on a loaded machine may take longer than the 100 ms default to answer:
// only the tests of that timeout use it (and say so); the others must not depend on scheduling.
function sharedLimiter(options: Partial<RedisRateLimiterOptions> = {}): RedisRateLimiter {
  const limiter = createRedisRateLimiter({
    url: redis.url,
    key: `test-${keys}`,
    commandTimeoutMs: 5_000,
    onWarning: () => {},
    ...options,
  });
  open.push(limiter);
  return limiter;
}

function clientOf(rateLimiter: RateLimiter, baseUrl: string, options: { maxRetries?: number } = {}) {
  return createClient({ serviceToken: "a:b", baseUrl, rateLimiter, ...options });
}

/** A server that answers 429 (Retry-After: 1 s, or `retryAfter`) first, then creates, noting each create. */
async function limitedOnce(retryAfter = "1"): Promise<{ server: TestServer; arrivals: string[] }> {
  const arrivals: string[] = [];
  const created: Handler = (request, res, socket) => {
    arrivals.push(request.body);
    json(200, roleFixture())(request, res, socket);
  };
  const server = await startServer(created);
  server.next(json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": retryAfter }));
  servers.push(server);
  return { server, arrivals };
}

/** Meets the 429 with a client that does not retry, so that only the hold remains. */
async function meetLimit(rateLimiter: RateLimiter, baseUrl: string): Promise<void> {
  const error = await clientOf(rateLimiter, baseUrl, { maxRetries: 0 })
    .createRole({ ...BRANCH, name: "meets-the-limit" })
    .catch((reason: unknown) => reason);
  expect((error as Error).name).toBe("RateLimitError");
}

describe("clients sharing one Redis budget", () => {
  it("meet few 429s, and learn one pace from what all of them sent, when together they outrun a token bucket", async () => {
    keys++;
    const bucket = await startRateLimitedServer(50, 100);
    servers.push(bucket);
    const warnings: string[] = [];
    const clients = Array.from({ length: 4 }, () =>
      clientOf(sharedLimiter({ onWarning: (message) => warnings.push(message) }), bucket.url),
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
    // The pace the fleet learned is one: the burst the first hold taught is what all four sent
    // before it (each process's own would be a quarter). A machine too busy to outrun the bucket
    // meets no hold at all; the shared hold itself is proven by the next test.
    const kept = Pace.restore(JSON.parse((await inspector.hget(`test-${keys}`, "pace")) ?? "null"));
    if (kept && kept.holds > 0) expect(kept.burst).toBeGreaterThan(50);
    // Only calls already in flight when the bucket ran dry meet it: at most each client's cap, for
    // the whole run (without a gate, every call past the burst meets it, most of them several times).
    expect(bucket.limited).toBeLessThanOrEqual(4 * DEFAULT_MAX_CONCURRENCY);
  }, 20_000);

  it("hold every client when one of them meets a 429, until its Retry-After has passed", async () => {
    keys++;
    const { server, arrivals } = await limitedOnce("5");
    await meetLimit(sharedLimiter(), server.url);
    const clock = manualClock();
    const call = clientOf(sharedLimiter({ clock }), server.url).createRole({ ...BRANCH, name: "after-the-hold" });
    await waitFor(() => !(clock.pending() === 0), "the limiter to wait on the clock");
    // What is left of the 5 s Redis holds the budget for, by Redis's own clock.
    const [wait] = clock.waits as [number];
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(5_000);
    await clock.advance(wait - 1);
    expect(arrivals).toHaveLength(0);
    await clock.advance(1);
    expect((await call).name).toBe(roleFixture().name);
    expect(arrivals).toHaveLength(1);
  });

  it("refuse at once, unsent, another client's call that a shared hold past its maxRetryAfterMs would keep", async () => {
    keys++;
    const { server, arrivals } = await limitedOnce("600");
    await meetLimit(sharedLimiter(), server.url);
    const clock = manualClock();
    const client = createClient({
      serviceToken: "a:b",
      baseUrl: server.url,
      rateLimiter: sharedLimiter({ clock }),
      backoff: { maxRetryAfterMs: 60_000 },
    });
    const error = await client.createRole({ ...BRANCH, name: "after-the-hold" }).catch((reason: unknown) => reason);
    // Not a wait of the call's timeoutMs: the clock never moved, and nothing waits on it.
    expect(clock.pending()).toBe(0);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBeGreaterThan(590_000);
    expect((error as RateLimitError).retryAfterMs).toBeLessThanOrEqual(600_000);
    expect((error as RateLimitError).message).toMatch(
      /^create_role was not sent: the rate limit holds every call on it for another 60\d s .*, longer than backoff\.maxRetryAfterMs \(60000 ms\)/,
    );
    expect(arrivals).toHaveLength(0);
  });

  it("refuse such a call as the built package does: its redis entry carries its own copy of the gate", async () => {
    keys++;
    // dist/redis.js and dist/index.js each bundle the gate: the refusal must be known across them.
    const script = `
      const { createClient } = await import("./dist/index.js");
      const { createRedisRateLimiter } = await import("./dist/redis.js");
      const rateLimiter = createRedisRateLimiter({ url: ${JSON.stringify(redis.url)}, key: "built-${keys}", onWarning() {} });
      rateLimiter.limited(600_000);
      await new Promise((resolve) => setTimeout(resolve, 200));
      let sent = 0;
      const fetch = async () => { sent++; return new Response("{}"); };
      const ps = createClient({ serviceToken: "a:b", baseUrl: "https://api.test/v1", fetch, rateLimiter });
      const error = await ps.createRole({ organization: "o", database: "d", branch: "b", name: "n" }).catch((e) => e);
      console.log(JSON.stringify({ name: error.name, outcomeUnknown: error.outcomeUnknown, sent, message: error.message }));
      await rateLimiter.close();
    `;
    const run = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT }, (error, stdout, stderr) =>
        error ? reject(new Error(stderr)) : resolve(stdout),
      ),
    );
    const seen = JSON.parse(run) as { name: string; outcomeUnknown: boolean; sent: number; message: string };
    expect(seen).toMatchObject({ name: "RateLimitError", outcomeUnknown: false, sent: 0 });
    expect(seen.message).toMatch(/^create_role was not sent: /);
  });

  it("hold the fleet for a 429 that one process met just before it closed its limiter", async () => {
    keys++;
    const leaving = sharedLimiter();
    leaving.limited(5_000);
    // A short job: it meets the limit and closes at once, as its work is done.
    await leaving.close();
    const kept = Pace.restore(JSON.parse((await inspector.hget(`test-${keys}`, "pace")) ?? "null"));
    expect(kept?.pausedUntil).toBeGreaterThan(Date.now() + 4_000);
  });

  it("let a call that waits at the shared hold leave at once when its signal aborts, unsent", async () => {
    keys++;
    const { server } = await limitedOnce("5");
    await meetLimit(sharedLimiter(), server.url);
    const clock = manualClock();
    const controller = new AbortController();
    const call = clientOf(sharedLimiter({ clock }), server.url)
      .createRole({ ...BRANCH, name: "given-up" }, { signal: controller.signal })
      .catch((reason: unknown) => reason);
    await waitFor(() => !(clock.pending() === 0), "the limiter to wait on the clock");
    controller.abort();
    // The clock never moves: only the abort can end the wait.
    expect(((await call) as Error).name).toBe("AbortError");
    expect(clock.pending()).toBe(0);
    expect(server.requests).toHaveLength(1);
  });

  it("keep budgets apart by key: a hold on one key leaves another key's calls free", async () => {
    keys++;
    const { server, arrivals } = await limitedOnce("5");
    await meetLimit(sharedLimiter({ key: `tenant-a-${keys}` }), server.url);
    const clock = manualClock();
    await clientOf(sharedLimiter({ key: `tenant-b-${keys}`, clock }), server.url).createRole({
      ...BRANCH,
      name: "other-key",
    });
    expect(arrivals).toHaveLength(1);
    expect(clock.waits).toEqual([]);
    const controller = new AbortController();
    const held = clientOf(sharedLimiter({ key: `tenant-a-${keys}`, clock }), server.url)
      .createRole({ ...BRANCH, name: "same-key" }, { signal: controller.signal })
      .catch((reason: unknown) => reason);
    await waitFor(() => !(clock.pending() === 0), "the limiter to wait on the clock");
    controller.abort();
    expect(((await held) as Error).name).toBe("AbortError");
    expect(server.requests).toHaveLength(2);
  });
});

describe("when Redis is not there", () => {
  it("completes every call when Redis is killed mid-run, warns once, and shares again once Redis is back", async () => {
    const own = await startRedisServer();
    try {
      keys++;
      const warnings: string[] = [];
      const bucket = await startRateLimitedServer(50, 100);
      servers.push(bucket);
      const sleeps: number[] = [];
      const clock: Clock = {
        ...systemClock,
        sleep(ms, signal) {
          sleeps.push(ms);
          return systemClock.sleep(ms, signal);
        },
      };
      const limiter = sharedLimiter({ url: own.url, clock, onWarning: (message) => warnings.push(message) });
      const ps = clientOf(limiter, bucket.url);
      const calls = Array.from({ length: 150 }, (_, i) => ps.createRole({ ...BRANCH, name: `outage-${i}` }));
      while (bucket.created.length < 40) await pause(5);
      await own.kill();
      const results = await Promise.allSettled(calls);
      expect(results.filter((result) => result.status === "rejected")).toEqual([]);
      expect(new Set(bucket.created).size).toBe(150);
      expect(bucket.created).toHaveLength(150);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`127.0.0.1:${own.port}`);

      // Back on Redis: once ioredis has reconnected and the pause after the failure is over, a hold
      // that another process begins holds this limiter's calls again.
      await own.restart();
      const meeting = sharedLimiter({ url: own.url });
      sleeps.length = 0;
      while (sleeps.length === 0) {
        meeting.limited(1_000);
        await holdLanded(own.url, `test-${keys}`);
        await limiter.acquire();
        await pause(100);
      }
      expect(sleeps[0]).toBeGreaterThan(0);
      expect(sleeps[0]).toBeLessThanOrEqual(1_000);
      expect(warnings).toHaveLength(1);
    } finally {
      await own.stop();
    }
  }, 30_000);

  it("does not fail a call with a short deadline because Redis hangs", async () => {
    const own = await startRedisServer();
    try {
      const server = await startServer(json(200, roleFixture()));
      servers.push(server);
      const ps = clientOf(sharedLimiter({ url: own.url, commandTimeoutMs: 100, onWarning: () => {} }), server.url);
      await ps.createRole({ ...BRANCH, name: "before" });
      own.freeze();
      // The command timeout (100 ms, three windows at most on a busy process) is well inside it.
      await expect(ps.createRole({ ...BRANCH, name: "hurried" }, { timeoutMs: 2_000 })).resolves.toMatchObject({
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

/** A server that takes connections and never answers (a hung Redis, a proxy that black-holes). */
async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const close = () => {
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `redis://127.0.0.1:${port}`, close };
}

describe("a Redis that takes connections and never answers", () => {
  it("sends the calls queued behind the command it failed to the local pace with it, not each after a command of its own", async () => {
    const silent = await startSilentServer();
    servers.push(silent);
    let settled = 0;
    let settledAtWarning: number | undefined;
    const warned = new Promise<void>((resolve) => {
      // Read once what the failure itself set off (promise callbacks) has run: no timer, no window.
      const onWarning = () =>
        setImmediate(() => {
          settledAtWarning = settled;
          resolve();
        });
      const limiter = sharedLimiter({ url: silent.url, commandTimeoutMs: 20, onWarning });
      for (let call = 0; call < 12; call++) void Promise.resolve(limiter.acquire()).then(() => settled++);
    });
    await warned;
    expect(settledAtWarning).toBe(12);
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

  const refusal = (options: unknown) => {
    try {
      createRedisRateLimiter(options as RedisRateLimiterOptions).close();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidRequestError);
      return { message: (error as Error).message, field: (error as InvalidRequestError).field };
    }
    throw new Error("createRedisRateLimiter accepted it");
  };
  const url = "redis://:hunter2@127.0.0.1:6379";

  it.each([
    [undefined, "options", "options must be an object with a url or a client"],
    [{}, "url or client", "url or client must be given, one of them"],
    [{ url, client: {} }, "url or client", "url or client must be given, one of them"],
    [{ client: { status: "ready" } }, "client", "client must be an ioredis Redis or Cluster client"],
    [{ url, clock: { now: () => 0 } }, "clock", "clock must be a Clock (now, sleep)"],
    [{ url: "http://127.0.0.1:6379" }, "url", "url must be a redis:// or rediss:// URL"],
    [{ url: "redis://:hunter2@127.0.0.1:x" }, "url", "url must be a redis:// or rediss:// URL"],
    [{ url: "redis://:hunter2@127.0.0.1:65536" }, "url", "url must be a redis:// or rediss:// URL"],
    [{ url: 6379 }, "url", "url must be a redis:// or rediss:// URL"],
    [{ url, key: "" }, "key", "key must be a non-empty string"],
    [{ url, key: 1 }, "key", "key must be a non-empty string"],
    [{ url, onWarning: "console" }, "onWarning", "onWarning must be a function"],
  ])("refuses %o naming the field, never the URL's password", (options, field, message) => {
    expect(refusal(options)).toEqual({ message: `createRedisRateLimiter: ${message}`, field });
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, "100"])(
    "refuses commandTimeoutMs %o: a timer cannot hold more than 2147483647 ms, and fires at once instead",
    (commandTimeoutMs) => {
      expect(refusal({ url, commandTimeoutMs })).toEqual({
        message:
          "createRedisRateLimiter: commandTimeoutMs must be a positive number of milliseconds, at most 2147483647",
        field: "commandTimeoutMs",
      });
    },
  );

  it.each([
    [{ url, keyy: 1 }, "keyy"],
    [{ ulr: url }, "ulr"],
    [{ url, commandTimeout: 5_000 }, "commandTimeout"],
  ])("refuses the unknown option in %o, naming it and the options there are", (options, name) => {
    expect(refusal(options)).toEqual({
      message: `createRedisRateLimiter: options.${name} must be left out: the options are url, client, key, commandTimeoutMs, onWarning, clock`,
      field: `options.${name}`,
    });
  });

  it("takes the longest commandTimeoutMs a timer holds, with every other option it names", async () => {
    const key = `test-${++keys}`;
    const limiter = createRedisRateLimiter({
      url: redis.url,
      key,
      commandTimeoutMs: 2 ** 31 - 1,
      onWarning: () => {},
      clock: systemClock,
    });
    open.push(limiter);
    await limiter.acquire();
    expect(await inspector.exists(key)).toBe(1);
  });
});

/** A client of the in-memory fake API, its calls gated by `rateLimiter`. */
function fakeClientOf(rateLimiter: RateLimiter) {
  const fake = createFakePlanetScale();
  const ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken, rateLimiter });
  return { fake, ps };
}

/** Resolves once a hold begun by a limiter (`limited` sends it and does not wait) has reached the budget `key`. */
async function holdLanded(url: string, key: string): Promise<void> {
  const inspector = new Redis(url);
  try {
    // Bounded, so that a hold the limiter kept to itself (it went local) fails here and says so.
    for (let poll = 0; !(Number(await inspector.hget(key, "pausedUntil")) > 0); poll++) {
      if (poll === 6_000) throw new Error(`no hold reached ${key} in Redis within 30 s`);
      await pause(5);
    }
  } finally {
    inspector.disconnect();
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Keeps the event loop busy for `ms`, as a synchronous computation in a loaded service would. */
function blockEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

/** Redis's now in the replies of a fake Redis. */
const REDIS_NOW = Date.UTC(2026, 11, 1, 12);
const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
/** The pace script's reply, raw: [written, now, version, pace]. */
const kept = (pace: Pace | undefined, version = 1, written = 0) =>
  `*4\r\n:${written}\r\n${bulk(String(REDIS_NOW))}:${version}\r\n${bulk(pace ? encodePace(pace) : "")}`;
/** A pace held `waitMs` from Redis's now, after `holds` holds. */
function heldFor(waitMs: number, holds = 1): Pace {
  const pace = new Pace();
  pace.limited(REDIS_NOW, waitMs);
  return Pace.restore({ ...pace.snapshot(), holds }) as Pace;
}

/** A limiter on a fake Redis that answers every script with `reply`, and the warnings it gives. */
async function onGarbage(reply: Parameters<typeof startGarbageRedis>[0], clock?: Clock) {
  const garbage = await startGarbageRedis(reply);
  servers.push(garbage);
  const warnings: string[] = [];
  // A generous command timeout: these tests are about what Redis answers, and a loaded machine
  // (Postgres suites starting beside them) must not turn a slow answer into a silent Redis.
  const limiter = sharedLimiter({
    url: garbage.url,
    commandTimeoutMs: 5_000,
    onWarning: (m) => warnings.push(m),
    ...(clock ? { clock } : {}),
  });
  return { garbage, limiter, warnings };
}

describe("when Redis answers what the scripts never return", () => {
  it.each([
    ["+OK", "+OK\r\n"],
    ["an empty array", "*0\r\n"],
    ["a pace that holds for a day", kept(heldFor(86_400_000))],
    ["a pace that is not one", kept(undefined).replace("$0\r\n\r\n", bulk('{"rate":1}'))],
  ])("completes every call after %s, warns once, and asks Redis once a pause", async (_reply, raw) => {
    const clock = manualClock();
    const { garbage, limiter, warnings } = await onGarbage(raw, clock);
    const { fake, ps } = fakeClientOf(limiter);
    for (let i = 0; i < 5; i++) await ps.createRole({ ...BRANCH, name: `garbage-${i}` }, { timeoutMs: 2_000 });
    expect(fake.roles()).toHaveLength(5);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`Redis at 127.0.0.1:${garbage.port} answered what the limiter cannot use`);
    expect(warnings[0]).toContain("paces its calls alone");
    // The pause after a failure has not passed on the manual clock: one try, then local.
    expect(garbage.scripts).toBe(1);
    // Once it has, one call tries Redis again while the others go on locally.
    await clock.advance(1_000);
    const calls = Array.from({ length: 5 }, (_, i) => ps.createRole({ ...BRANCH, name: `again-${i}` }));
    await Promise.all(calls);
    expect(garbage.scripts).toBe(2);
    expect(warnings).toHaveLength(1);
  });

  it.each([
    ["an accepted answer", (limiter: RedisRateLimiter) => limiter.accepted()],
    ["a 429", (limiter: RedisRateLimiter) => limiter.limited(1_000)],
  ])("warns once when Redis answers what the script told of %s never returns", async (_what, tell) => {
    // The turn reads an empty pace and writes it back; what comes after is [0, 0], no reply of the script.
    const replies = [kept(undefined, 0), kept(undefined, 1, 1)];
    const { garbage, limiter, warnings } = await onGarbage(
      (nth) => replies[nth - 1] ?? "*2\r\n:0\r\n:0\r\n",
      manualClock(),
    );
    await limiter.acquire();
    expect(warnings).toEqual([]);
    tell(limiter);
    while (warnings.length === 0) await pause(5);
    expect(warnings[0]).toContain("answered what the limiter cannot use");
    expect(garbage.scripts).toBe(3);
  });

  it("paces a call locally once a new hold has begun under it at every one of twenty reservations", async () => {
    const { garbage, limiter, warnings } = await onGarbage((nth) => kept(heldFor(1, nth)));
    await limiter.acquire();
    expect(garbage.scripts).toBe(20);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("the pace moved 20 times while one call waited");
  });

  it("paces locally, warning once, when 50 writes of the pace in a row find it written by another first", async () => {
    // Each reply says nothing was written and the budget is still empty: no process could ever write.
    const { garbage, limiter, warnings } = await onGarbage(kept(undefined, 0));
    await limiter.acquire();
    expect(garbage.scripts).toBe(51);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("the pace was written by others 50 times in a row");
  });

  it("keeps the shared hold for a call whose wait is longer than the time it has left: the call waits until its signal ends it", async () => {
    const clock = manualClock();
    const { limiter, warnings } = await onGarbage(kept(heldFor(60_000)), clock);
    const deadline = new AbortController();
    const short = limiter.acquire(deadline.signal, 5_000);
    await waitFor(() => !(clock.pending() < 1), "the limiter to wait on the clock");
    expect(clock.waits).toEqual([60_000]);
    const reason = new DOMException("The attempt's deadline passed", "TimeoutError");
    deadline.abort(reason);
    await expect(short).rejects.toBe(reason);
    // Redis answered what its script returns: it did not fail, and nobody was told it did.
    expect(warnings).toEqual([]);
  });

  it("waits as long as Redis says when the call has the time, or when it does not say how much it has", async () => {
    const clock = manualClock();
    const { limiter, warnings } = await onGarbage(kept(heldFor(60_000)), clock);
    const roomy = limiter.acquire(undefined, 60_001);
    const untold = limiter.acquire();
    await waitFor(() => !(clock.pending() < 2), "the limiter to wait on the clock");
    expect(clock.waits).toEqual([60_000, 60_000]);
    expect(warnings).toEqual([]);
    await clock.advance(60_000);
    await Promise.all([roomy, untold]);
  });
});

describe("a busy process is not a silent Redis", () => {
  it("takes no warning from an event loop blocked while a command is in flight", async () => {
    keys++;
    const warnings: string[] = [];
    // The default 100 ms: the loop below blocks three times that, which must not count as Redis silent.
    const limiter = sharedLimiter({ commandTimeoutMs: 100, onWarning: (m) => warnings.push(m) });
    await limiter.acquire();
    const turn = limiter.acquire();
    expect(turn).toBeInstanceOf(Promise);
    blockEventLoop(300);
    await turn;
    expect(warnings).toEqual([]);
  });

  it("warns when Redis itself is paused, and shares again once it answers", async () => {
    const own = await startRedisServer();
    try {
      keys++;
      const warnings: string[] = [];
      const clock = manualClock();
      const limiter = sharedLimiter({ url: own.url, clock, commandTimeoutMs: 100, onWarning: (m) => warnings.push(m) });
      await limiter.acquire();
      own.freeze();
      await limiter.acquire();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`Redis at 127.0.0.1:${own.port} did not answer (no answer within 100 ms)`);
      own.thaw();
      // A hold another process begins reaches this one once the second's pause after the failure is over.
      sharedLimiter({ url: own.url }).limited(5_000);
      await holdLanded(own.url, `test-${keys}`);
      await clock.advance(1_000);
      const held = limiter.acquire();
      await waitFor(() => !(clock.pending() === 0), "the limiter to wait on the clock");
      expect(clock.waits.at(-1)).toBeGreaterThan(0);
      expect(clock.waits.at(-1)).toBeLessThanOrEqual(5_000);
      expect(warnings).toHaveLength(1);
      await clock.advance(5_000);
      await held;
    } finally {
      await own.stop();
    }
  });
});

describe("the default budget", () => {
  const tokenA = `a${keys}:pscale_tkn_first-service-secret`;
  const tokenB = `b${keys}:pscale_tkn_second-service-secret`;
  /** A limiter without a key, bound as a client with `authorization` binds it. */
  function boundLimiter(authorization: string, clock = manualClock()): RedisRateLimiter {
    const limiter = createRedisRateLimiter({ url: redis.url, clock, onWarning: () => {} });
    open.push(limiter);
    limiter.bind(credentialsIdentity(authorization));
    return limiter;
  }

  it("is one per set of credentials: a hold on one token's budget leaves another token's calls free", async () => {
    const clock = manualClock();
    boundLimiter(tokenA).limited(5_000);
    const key = `${DEFAULT_KEY}:{${credentialsIdentity(tokenA).slice(0, 16)}}`;
    await holdLanded(redis.url, key);
    expect(await boundLimiter(tokenB, clock).acquire()).toBeUndefined();
    expect(clock.waits).toEqual([]);
    const held = boundLimiter(tokenA, clock).acquire();
    await waitFor(() => !(clock.pending() === 0), "the limiter to wait on the clock");
    expect(clock.waits[0]).toBeGreaterThan(0);
    await clock.advance(5_000);
    await held;
  });

  it("is named after a hash of the credentials, in a hash tag, never after the token", async () => {
    const secret = "pscale_tkn_never-in-a-key";
    const limiter = boundLimiter(`svc:${secret}`);
    await limiter.acquire();
    const names = await inspector.keys("planetscale-roles:*");
    const hash = createHash("sha256").update(`svc:${secret}`).digest("hex");
    expect(names).toContain(`planetscale-roles:rate-limit:{${hash.slice(0, 16)}}`);
    expect(names.join(" ")).not.toContain("never-in-a-key");
  });

  it("waits for an identity promised by a client that hashes asynchronously", async () => {
    const limiter = createRedisRateLimiter({ url: redis.url, onWarning: () => {} });
    open.push(limiter);
    const hash = credentialsIdentity("svc:promised");
    limiter.bind(Promise.resolve(hash));
    await limiter.acquire();
    expect(await inspector.exists(`${DEFAULT_KEY}:{${hash.slice(0, 16)}}`)).toBe(1);
  });

  it("stays on the unbound budget when a promised identity fails", async () => {
    expect(await inspector.exists(DEFAULT_KEY)).toBe(0);
    const limiter = createRedisRateLimiter({ url: redis.url, onWarning: () => {} });
    open.push(limiter);
    limiter.bind(Promise.reject(new Error("no digest here")));
    await limiter.acquire();
    expect(await inspector.exists(DEFAULT_KEY)).toBe(1);
  });

  it("keeps the key it is given, and the first client's budget when several clients share the limiter", async () => {
    keys++;
    const given = sharedLimiter();
    given.bind(credentialsIdentity("svc:given"));
    await given.acquire();
    expect(await inspector.exists(`test-${keys}`)).toBe(1);
    expect(await inspector.exists(`${DEFAULT_KEY}:{${credentialsIdentity("svc:given").slice(0, 16)}}`)).toBe(0);

    const shared = boundLimiter("svc:first");
    shared.bind(credentialsIdentity("svc:second"));
    await shared.acquire();
    expect(await inspector.exists(`${DEFAULT_KEY}:{${credentialsIdentity("svc:first").slice(0, 16)}}`)).toBe(1);
    expect(await inspector.exists(`${DEFAULT_KEY}:{${credentialsIdentity("svc:second").slice(0, 16)}}`)).toBe(0);
  });

  it("refuses to be bound to anything but a SHA-256 in hex, without repeating what it was given", () => {
    const limiter = createRedisRateLimiter({ url: redis.url, onWarning: () => {} });
    open.push(limiter);
    const attempt = () => limiter.bind("svc:pscale_tkn_a-token-by-mistake");
    expect(attempt).toThrow(
      new InvalidRequestError("createRedisRateLimiter: bind(identity) takes the hex SHA-256 of the credentials", {
        field: "identity",
      }),
    );
    expect(attempt).toThrow(InvalidRequestError);
  });
});

describe("a Redis client the caller already holds", () => {
  it("shares one budget through it with limiters that name the URL, and is left open on close", async () => {
    keys++;
    const existing = new Redis(redis.url);
    try {
      const clock = manualClock();
      const limiter = createRedisRateLimiter({ client: existing, key: `test-${keys}`, clock, onWarning: () => {} });
      sharedLimiter().limited(5_000);
      await holdLanded(redis.url, `test-${keys}`);
      const held = limiter.acquire();
      await waitFor(() => !(clock.pending() === 0), "the limiter to wait on the clock");
      expect(clock.waits[0]).toBeGreaterThan(0);
      await clock.advance(5_000);
      await held;
      limiter.close();
      expect(existing.status).toBe("ready");
      expect(await existing.ping()).toBe("PONG");
      // Closed, the limiter paces this process alone and sends nothing more.
      const before = Number(await inspector.hget(`test-${keys}`, "version"));
      limiter.accepted();
      await existing.ping();
      expect(Number(await inspector.hget(`test-${keys}`, "version"))).toBe(before);
    } finally {
      existing.disconnect();
    }
  });

  it("shares one budget through a Redis Cluster client", async () => {
    const cluster = await startRedisCluster();
    const nodes = [{ host: "127.0.0.1", port: cluster.port }];
    const clients = [new Cluster(nodes), new Cluster(nodes)];
    try {
      // Connected first: a cluster client's start-up (its slots, then a second connection) can take
      // longer than the limiter's windows on a loaded machine, and the limiter would rightly go local.
      await Promise.all(clients.map((client) => new Promise((ready) => client.once("ready", ready))));
      const clock = manualClock();
      const warnings: string[] = [];
      const [meeting, held] = clients.map((client) =>
        createRedisRateLimiter({ client, clock, onWarning: (m) => warnings.push(m) }),
      ) as [RedisRateLimiter, RedisRateLimiter];
      const identity = credentialsIdentity("svc:in-a-cluster");
      for (const limiter of [meeting, held]) limiter.bind(identity);
      await meeting.acquire();
      meeting.limited(5_000);
      await holdLanded(`redis://127.0.0.1:${cluster.port}`, `${DEFAULT_KEY}:{${identity.slice(0, 16)}}`);
      const turn = held.acquire();
      await waitFor(() => !(clock.pending() === 0 && warnings.length === 0), "the limiter to wait on the clock");
      expect(warnings).toEqual([]);
      expect(clock.waits[0]).toBeGreaterThan(0);
      await clock.advance(5_000);
      await turn;
    } finally {
      for (const client of clients) client.disconnect();
      await cluster.stop();
    }
  });

  it("names the client's server in its one warning", async () => {
    const port = await closedPort();
    const existing = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0 });
    existing.on("error", () => {});
    try {
      const warnings: string[] = [];
      const limiter = createRedisRateLimiter({ client: existing, onWarning: (m) => warnings.push(m) });
      await limiter.acquire();
      await limiter.acquire();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`Redis at 127.0.0.1:${port} did not answer`);
    } finally {
      existing.disconnect();
    }
  });
});

describe("the replies the limiter takes from Redis", () => {
  it.each([
    ["+OK", "OK"],
    ["nothing", []],
    ["three fields", [0, "1", 0]],
    ["written neither 0 nor 1", [2, "1", 0, ""]],
    ["a time as a number", [0, 1, 0, ""]],
    ["a time that is no number", [0, "nan", 0, ""]],
    ["a negative version", [0, "1", -1, ""]],
    ["a fractional version", [0, "1", 1.5, ""]],
    ["a pace as a number", [0, "1", 0, 5]],
    ["a pace that is no JSON", [0, "1", 0, "{rate"]],
    ["a pace without its fields", [0, "1", 0, '{"rate":1}']],
    ["a pace with a field of the wrong type", [0, "1", 0, encodePace(new Pace()).replace('"rate":0', '"rate":"0"')]],
  ])("refuses a reply of %s", (_what, reply) => {
    expect(() => readKept(reply)).toThrow(UnusableReplyError);
  });

  it("takes a write's reply, an empty budget as a fresh pace, and a kept pace whole (an unbounded ceiling included)", () => {
    expect(readKept([1, "1234.5", 3, ""])).toMatchObject({ written: true, now: 1234.5, version: 3, pace: undefined });
    expect(readKept([0, "5", 0, ""]).pace?.snapshot()).toEqual(new Pace().snapshot());
    const learned = heldFor(1_000);
    for (let i = 0; i < 30; i++) learned.accepted(REDIS_NOW + 1_000);
    learned.limited(REDIS_NOW + 1_100, 1_000);
    expect(learned.snapshot().known?.ceilingHoldMs).toBe(Number.POSITIVE_INFINITY);
    const read = readKept([0, "5", 2, encodePace(learned)]);
    expect(read).toMatchObject({ written: false, now: 5, version: 2 });
    expect(read.pace?.snapshot()).toEqual(learned.snapshot());
  });

  it("shortens what it repeats of a long reply", () => {
    const reply = Array.from({ length: 50 }, () => 123_456);
    expect(() => readKept(reply)).toThrow(/^\[(123456,){8}\.\.\.: not the/);
  });
});

describe("the command timeout", () => {
  it("rejects a command Redis does not answer on a free event loop", async () => {
    await expect(answerWithin(new Promise(() => {}), 20)).rejects.toThrow(new NoAnswerError("no answer within 20 ms"));
  });

  it("gives Redis a fresh window when the process was too busy to hear it", async () => {
    const answer = answerWithin(new Promise((resolve) => setTimeout(() => resolve("late but there"), 230)), 100);
    blockEventLoop(200);
    // The timer fires about 100 ms late: the answer, 30 ms after the loop is free again, still counts.
    await expect(answer).resolves.toBe("late but there");
  });

  it("reads an answer that came in before the timer ran, though its time was up", async () => {
    let pass: (reply: string) => void = () => {};
    const answer = answerWithin(new Promise<string>((resolve) => (pass = resolve)), 1_000);
    // Just before the deadline a command goes to Redis and the loop is then busy a little (less than
    // half a window): the answer arrives meanwhile, and the loop runs the due timer before it reads it.
    setTimeout(() => {
      setImmediate(() => {
        void inspector.ping().then(pass);
        blockEventLoop(300);
      });
    }, 900);
    await expect(answer).resolves.toBe("PONG");
  });

  it("gives a connection being made a fresh window, up to five", async () => {
    let windows = 0;
    const connecting = () => {
      windows++;
      return true;
    };
    await expect(answerWithin(new Promise(() => {}), 10, connecting)).rejects.toThrow(NoAnswerError);
    // Asked at the end of each window: four more are given, the fifth is the last.
    expect(windows).toBe(5);
  });

  it("still gives up on a Redis that never answers a process that is busy all the time", async () => {
    const busy = setInterval(() => blockEventLoop(30), 1);
    try {
      await expect(answerWithin(new Promise(() => {}), 20)).rejects.toThrow(NoAnswerError);
    } finally {
      clearInterval(busy);
    }
  }, 10_000);
});
