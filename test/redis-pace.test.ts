// The fleet paces by one model: what any process of it learns at the rate limit (the burst, the
// hold's end, what rate-limit headers say remains) is what every other process with the same Redis
// and key paces by, as if all their calls came from one client. A real redis-server; each limiter
// has its own connection, as separate processes would. Redis keeps its own clock, so the holds here
// are short and their ends are waited for in real time; the waits the limiters ask for are read on
// clocks the test steers.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createClient, TimeoutError } from "../src/index.ts";
import { createRedisRateLimiter, type RedisRateLimiter, type RedisRateLimiterOptions } from "../src/redis/index.ts";
import { type ManualClock, manualClock, waitFor } from "./support/clock.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { type RedisServer, startRedisServer } from "./support/redis-server.ts";
import { json, startServer } from "./support/servers.ts";

let redis: RedisServer;
const open: RedisRateLimiter[] = [];
let keys = 0;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterEach(() => {
  for (const limiter of open.splice(0)) limiter.close();
});
afterAll(() => redis?.stop());

/** One process's limiter on this test's budget, its waits on `clock`. */
function processOf(clock: ManualClock = manualClock(), options: Partial<RedisRateLimiterOptions> = {}) {
  const limiter = createRedisRateLimiter({
    url: redis.url,
    key: `pace-${keys}`,
    commandTimeoutMs: 5_000,
    onWarning: (message) => {
      throw new Error(`no warning expected: ${message}`);
    },
    clock,
    ...options,
  });
  open.push(limiter);
  return { limiter, clock };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks for `count` turns at once and returns how many were given at once: a turn that waits asks
 * the clock, which is never moved here, so only the turns given at once settle.
 */
async function givenAtOnce(limiter: RedisRateLimiter, clock: ManualClock, count: number): Promise<number> {
  let given = 0;
  for (let i = 0; i < count; i++) void limiter.acquire()?.then(() => given++);
  await waitFor(() => given + clock.pending() === count, `${count} turns given or waiting`);
  return given;
}

describe("processes sharing one Redis budget", () => {
  it("a process that met no 429 opens on the burst others learned, at the hold's end, then waits its turn", async () => {
    keys++;
    const [a, b] = [processOf(), processOf()];
    // Two processes counted 15 accepted answers each, in turns that interleave, before A met the 429.
    await Promise.all(
      [a, b].map(async ({ limiter }) => {
        for (let i = 0; i < 15; i++) {
          limiter.accepted();
          await limiter.acquire();
        }
      }),
    );
    a.limiter.limited(300);
    // A's own next turn waits: the hold has reached the shared budget.
    expect(await givenAtOnce(a.limiter, a.clock, 1)).toBe(0);
    // A third process, started during the hold: it waits for the hold's end; after it, 30 go at once.
    const c = processOf();
    expect(await givenAtOnce(c.limiter, c.clock, 1)).toBe(0);
    expect(c.clock.waits[0]).toBeGreaterThan(0);
    expect(c.clock.waits[0]).toBeLessThanOrEqual(300);
    await pause(350);
    // The 30 less a tenth (they held refill too), less the turns A and C took at the hold's end.
    const d = processOf();
    expect(await givenAtOnce(d.limiter, d.clock, 40)).toBe(25);
  });

  it("counts the answers a process had queued when it met the 429: they go to Redis with it, ahead of it", async () => {
    keys++;
    const a = processOf();
    // 30 answers and then the 429, told at once: the first answer's write is in Redis while the rest
    // queue behind it. Left queued, they would land during the hold, and the first count would be one.
    for (let i = 0; i < 30; i++) a.limiter.accepted();
    a.limiter.limited(300);
    expect(await givenAtOnce(a.limiter, a.clock, 1)).toBe(0);
    await pause(350);
    // The 30 less a tenth, less the turn A took at the hold's end.
    const b = processOf();
    expect(await givenAtOnce(b.limiter, b.clock, 40)).toBe(26);
  });

  it("holds every process until the reset that another's answer said, when it said nothing remains", async () => {
    keys++;
    const a = processOf();
    a.limiter.accepted(new Headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "5" }));
    // A's own next turn waits: the headers have reached the shared budget.
    expect(await givenAtOnce(a.limiter, a.clock, 1)).toBe(0);
    const b = processOf();
    expect(await givenAtOnce(b.limiter, b.clock, 1)).toBe(0);
    expect(b.clock.waits[0]).toBeGreaterThan(4_000);
    expect(b.clock.waits[0]).toBeLessThanOrEqual(5_000);
  });

  it("paces every process at a policy another's answer declared", async () => {
    keys++;
    const a = processOf();
    a.limiter.accepted(new Headers({ "ratelimit-policy": '"default";q=20;w=60' }));
    await a.limiter.acquire();
    const b = processOf();
    expect(await givenAtOnce(b.limiter, b.clock, 25)).toBe(19);
  });
});

describe("a call at the shared hold", () => {
  it("whose deadline passes there ends in a TimeoutError that says nothing was sent", async () => {
    keys++;
    const server = await startServer(json(200, roleFixture()));
    try {
      const holder = processOf();
      holder.limiter.limited(30_000);
      expect(await givenAtOnce(holder.limiter, holder.clock, 1)).toBe(0);
      const { limiter, clock } = processOf();
      expect(await givenAtOnce(limiter, clock, 1)).toBe(0);
      const ps = createClient({ serviceToken: "a:b", baseUrl: server.url, rateLimiter: limiter, clock });
      const call = ps.createRole({ ...BRANCH, name: "late" }, { timeoutMs: 1_000 }).catch((error: unknown) => error);
      await waitFor(() => clock.pending() === 2, "the call to wait at the hold");
      await clock.advance(1_000);
      const error = await call;
      expect(error).toBeInstanceOf(TimeoutError);
      expect((error as TimeoutError).message).toMatch(/while waiting at the rate-limit gate; nothing was sent/);
      expect(server.requests).toHaveLength(0);
    } finally {
      await server.close();
    }
  });
});
