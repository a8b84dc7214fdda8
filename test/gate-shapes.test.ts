// The gate against each shape a rate limit may have, on a clock the test steers: 500 concurrent
// creates with default options finish within the ratio of the ideal the shape allows, each
// once, with few 429s. Times here are the steered clock's, never the wall's.
import { describe, expect, it } from "vitest";
// Loaded here, not first inside a test by createAllBehind's import(): Stryker counts code that runs
// while a module loads in a test as that test's, and, the module being loaded once (isolate: false),
// reported its mutants (MASK, SECRET_KEYS, the retry table...) as survivors it never switched on.
import "../src/index.ts";
import {
  bucketIdeal,
  type ColdStart,
  createAllBehind,
  fixedWindow,
  type Shape,
  tokenBucket,
  tracedShape,
  WAITED_HOLD_MS,
} from "./support/limiter-shapes.ts";

const CALLS = 500;

async function expectWithin(shape: Shape, idealMs: number, ratio: number, cold?: ColdStart) {
  const { results, api, tookMs } = await createAllBehind(shape, CALLS, 3, cold);
  expect(results.filter((result) => result.status === "rejected")).toEqual([]);
  expect(new Set(api.created).size).toBe(CALLS);
  expect(api.created).toHaveLength(CALLS);
  expect(api.limited).toBeLessThanOrEqual((CALLS + api.limited) / 10);
  expect(tookMs / idealMs).toBeLessThanOrEqual(ratio);
  return { tookMs, limited: api.limited };
}

describe("500 concurrent creates with default options", () => {
  it("a fixed window (125 per 2 s, Retry-After to its end): a burst at each window's start, within 1.15x of 6 s", async () => {
    await expectWithin(fixedWindow(125, 2_000), 6_000, 1.15);
  });

  it("a bucket with a large burst (100 + 100/s): within 1.15x of 4 s", async () => {
    await expectWithin(tokenBucket(100, 100), 4_000, 1.15);
  });

  it("a bucket with a small burst (20 + 100/s, whole-second Retry-After): probes upward, within 1.5x of 4.8 s", async () => {
    await expectWithin(tokenBucket(20, 100), 4_800, 1.5);
  });

  it("a bucket with a small burst met by a cold process (answers in 30 ms for its first 300 ms): one hold to learn the burst, one to learn the rate, within 1.5x", async () => {
    // The first burst, spread over the slow start, gets refill through too (26 of a bucket of 20):
    // opening on all of it after the hold would overshoot at once, a whole hold more.
    await expectWithin(tokenBucket(20, 100), 4_800, 1.5, { ms: 300, latencyMs: 30 });
  });

  it("a bucket of 5 + 25/s met by a cold process (answers in 60 ms for its first 400 ms; 200 creates): the opening the slow start filled is cut at the next hold, and none fails", async () => {
    // The first count holds the slow start's refill; opening every hold on nine tenths of it, 5
    // got through each time and the rest met the next 429 (teaching nothing, fewer than
    // LEARNING_SAMPLE): 4.39x of 7.8 s, 287 429s, 7 calls failed.
    const { results, api, tookMs } = await createAllBehind(tokenBucket(5, 25), 200, 3, { ms: 400, latencyMs: 60 });
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);
    expect(new Set(api.created).size).toBe(200);
    expect(api.limited).toBeLessThanOrEqual(40);
    expect(bucketIdeal(200, 5, 25)).toBe(7_800);
    expect(tookMs / bucketIdeal(200, 5, 25)).toBeLessThanOrEqual(2);
  });

  it("a window met by a cold process: within 1.15x of 6 s", async () => {
    await expectWithin(fixedWindow(125, 2_000), 6_000, 1.15, { ms: 300, latencyMs: 30 });
  });

  it("a bucket whose 429s carry no Retry-After (100 + 100/s): within 1.5x of 4 s", async () => {
    await expectWithin(tokenBucket(100, 100, "none"), 4_000, 1.5);
  });

  it("a window that sends X-RateLimit headers: spends what remains, then waits for the reset; within 1.15x", async () => {
    const { limited } = await expectWithin(fixedWindow(125, 2_000, "x-ratelimit"), 6_000, 1.15);
    // Only the calls already in flight when the window ran out meet a 429.
    expect(limited).toBeLessThan(10 * 4);
  });

  it("a window that sends the IETF RateLimit and RateLimit-Policy headers: within 1.15x", async () => {
    await expectWithin(fixedWindow(125, 2_000, "ietf"), 6_000, 1.15);
  });

  it("a bucket smaller than LEARNING_SAMPLE (5 + 10/s, 600 a minute with a small burst; 100 creates): paced from the first hold, none fails", async () => {
    // Learning nothing from 5 answers, the gate let every call go at each hold's end: 10 of them met
    // a 429 each second, spending their retries, and 30 of the 100 failed.
    const { results, api, tookMs } = await createAllBehind(tokenBucket(5, 10), 100, 3);
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);
    expect(api.created).toHaveLength(100);
    expect(api.limited).toBeLessThanOrEqual(20);
    // 9.5 s is the ideal: the burst at once, then 95 at 10 a second.
    expect(tookMs / 9_500).toBeLessThanOrEqual(1.5);
  });
  it("a bucket of one (1 + 1/s; 10 creates): the probe's overshoots meet calls waiting their turn; none fails", async () => {
    // The probe climbs from a bound of one a second: a few calls go within milliseconds of each
    // other, meet 429s together, and one of the 10 spent its last retry on them.
    const { results, api } = await createAllBehind(tokenBucket(1, 1), 10, 3);
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);
    expect(api.created).toHaveLength(10);
  });

  it("a bucket of 5 + 2/s (30 creates): each hold's opening overshoots, and the calls it refused were waiting their turn: none fails", async () => {
    // Every hold let 4 or 5 go at once, 2 got through, and each of the others spent a retry: calls
    // that met three openings failed (5 of 30), the budget renewing all the while.
    const { results, api } = await createAllBehind(tokenBucket(5, 2), 30, 3);
    expect(results.filter((result) => result.status === "rejected")).toEqual([]);
    expect(api.created).toHaveLength(30);
  });
});

describe("the holds a benchmark counts (bench:fleet's runs by holds waited out)", () => {
  it("counts each pause of the accepted answers of WAITED_HOLD_MS after a 429, however the refill broke it up", () => {
    const refusals = new Set([100, 120, 300, 700]);
    const { shape, holds } = tracedShape((now) => ({ ok: !refusals.has(now), retryAfter: "1" }));
    // Accepted at 0, 130 (after two 429s: stragglers), 630 (500 ms on, after a 429: one), 1129
    // (after a 429, 499 ms on: a renewal early in a hold), 2000 (871 ms on: that hold), and 3000
    // (no 429 since: nothing was asked).
    const times = [0, 100, 120, 130, 300, 130 + WAITED_HOLD_MS, 700, 629 + WAITED_HOLD_MS, 2_000, 3_000];
    for (const at of times) shape(at);
    expect(WAITED_HOLD_MS).toBe(500);
    expect(holds()).toBe(2);
  });
});
