// What this file proves: the client's gate. The pace it learns at the rate limit and when it forgets
// it, what it tells the rate limiter about each answer, and that no call waiting for a place passes
// before a Retry-After has. (Concurrent load against a rate limit is load.test.ts.)

import { describe, expect, it } from "vitest";
import { FORGET_PACE_MS, Pace } from "../src/gate.ts";
import { createClient, type RateLimiter } from "../src/index.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { serverForTests } from "./support/per-test.ts";
import { json, startServer } from "./support/servers.ts";

/** Reserves `count` slots at `now` and returns their waits. */
const waits = (pace: Pace, now: number, count: number) => Array.from({ length: count }, () => pace.reserve(now));

describe("the pace", () => {
  it("learns from a hold that followed real traffic: what got through, over the hold", () => {
    const pace = new Pace();
    waits(pace, 0, 1);
    for (let i = 0; i < 100; i++) pace.accepted(5);
    pace.limited(10, 1_000);
    expect(pace.pausedUntil).toBe(1_010);
    // 95 a second, a burst of 85: the first 85 go at the hold's end, then one every ~10.5 ms.
    const after = waits(pace, 1_010, 90);
    expect(after.slice(0, 85).every((wait) => wait < 1)).toBe(true);
    expect(after[89]).toBeGreaterThan(40);
    expect(after[89]).toBeLessThan(60);
  });

  it("learns nothing from a 429 met while barely sending: it only holds", () => {
    const pace = new Pace();
    waits(pace, 0, 2);
    pace.accepted(1);
    pace.accepted(2);
    pace.limited(3, 1_000);
    expect(waits(pace, 500, 1)[0]).toBe(503);
    expect(waits(pace, 1_003, 60).every((wait) => wait === 0)).toBe(true);
  });

  it("forgets a learned pace a minute after the last hold ended", () => {
    const pace = new Pace();
    waits(pace, 0, 1);
    for (let i = 0; i < 20; i++) pace.accepted(5);
    pace.limited(10, 1_000);
    expect(waits(pace, 2_000, 60).some((wait) => wait > 0)).toBe(true);
    const later = 1_010 + FORGET_PACE_MS + 1;
    expect(waits(pace, later, 60).every((wait) => wait === 0)).toBe(true);
  });
});

describe("a client whose token another job spends", () => {
  it("is not slowed for long by a 429 it met while barely sending", async () => {
    const fake = createFakePlanetScale();
    const ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
    await ps.createRole({ ...BRANCH, name: "a" });
    fake.failNext("get_default_role", { retryAfter: 1 });
    await ps.getDefaultRole(BRANCH);
    const started = Date.now();
    await Promise.all(Array.from({ length: 60 }, (_, i) => ps.createRole({ ...BRANCH, name: `after-${i}` })));
    // The hold is over by the time the 60 start; they go as fast as the fake answers.
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("the rate limiter", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });

  describe("the rate limiter hears", () => {
    it("of every answer but a 429 as accepted, and of each 429 with its wait", async () => {
      const heard: string[] = [];
      const limiter: RateLimiter = {
        acquire: () => undefined,
        limited: (ms) => heard.push(`limited ${ms}`),
        accepted: () => heard.push("accepted"),
      };
      const ps = createClient({
        serviceToken: "id:secret",
        baseUrl: server.url,
        rateLimiter: limiter,
        maxRetries: 3,
        backoff: { baseMs: 5, maxMs: 5 },
      });
      server.next(
        json(503, { code: "unavailable", message: "busy" }),
        json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "0" }),
      );
      await ps.getRole(ROLE);
      expect(heard).toEqual(["accepted", "limited 0", "accepted"]);
    });
  });
});

describe("holds", () => {
  const TOKEN = "pscale_tkn_Outsider-Secret-7";
  const _server = serverForTests({ reset: true });

  describe("the gate after a 429", () => {
    it("lets no call waiting for a place through before the Retry-After has passed", async () => {
      // The tenth request is refused at once with Retry-After 1; the first nine answer after 300 ms.
      const arrivals: number[] = [];
      let limitedAt = 0;
      const started = Date.now();
      const gated = await startServer((request, res) => {
        arrivals.push(Date.now() - started);
        if (arrivals.length === 10) {
          limitedAt = Date.now() - started;
          res.writeHead(429, { "content-type": "application/json", "retry-after": "1" });
          res.end(JSON.stringify({ code: "too_many_requests", message: "slow down" }));
          return;
        }
        const { name } = JSON.parse(request.body) as { name: string };
        setTimeout(() => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(roleFixture({ name })));
        }, 300);
      });
      try {
        const client = createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: gated.url });
        const results = await Promise.all(
          Array.from({ length: 12 }, (_, i) => client.createRole({ ...BRANCH, name: `c${i}` })),
        );
        expect(results).toHaveLength(12);
        const afterLimit = arrivals.slice(10);
        expect(afterLimit.every((at) => at >= limitedAt + 950)).toBe(true);
      } finally {
        await gated.close();
      }
    });
  });
});
