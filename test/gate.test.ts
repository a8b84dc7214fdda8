// The pace a client learns at the rate limit: what it may learn from, and when it forgets.
import { describe, expect, it } from "vitest";
import { FORGET_PACE_MS, Pace } from "../src/gate.ts";
import { createClient } from "../src/index.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { BRANCH } from "./support/fixtures.ts";

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
