// Concurrent creates against a rate limit, with default options, on a clock the test steers: every
// one completes, none is created twice, and the client's gate keeps the 429s few, for a token
// bucket and for a fixed window. Timing figures belong to bench/load.ts.
import { describe, expect, it } from "vitest";
import { createClient } from "../src/index.ts";
import { manualClock } from "./support/clock.ts";
import { BRANCH } from "./support/fixtures.ts";
import { fixedWindow, limitedApi, type Shape, tokenBucket } from "./support/limiter-shapes.ts";

const CALLS = 150;

async function createAllBehind(shape: Shape) {
  const clock = manualClock();
  const api = limitedApi(shape, clock.now);
  const ps = createClient({ serviceToken: "a:b", baseUrl: "https://api.test/v1", fetch: api.fetch, clock });
  const all = Promise.allSettled(
    Array.from({ length: CALLS }, (_, i) => ps.createRole({ ...BRANCH, name: `load-${i}` })),
  );
  let done = false;
  void all.then(() => {
    done = true;
  });
  // Time moves 10 ms at a time; each step lets every call that can go run to its next wait.
  for (let step = 0; !done && step < 100_000; step++) await clock.advance(10);
  return { results: await all, api };
}

function expectEveryCreateOnce(results: PromiseSettledResult<{ name: string }>[], created: string[]) {
  expect(results.filter((result) => result.status === "rejected")).toEqual([]);
  expect(new Set(results.map((result) => (result.status === "fulfilled" ? result.value.name : ""))).size).toBe(CALLS);
  expect(created).toHaveLength(CALLS);
  expect(new Set(created).size).toBe(CALLS);
}

describe("under a rate limit, with default options", () => {
  it("a token bucket (burst 50, 100/s): 150 concurrent creates all succeed once each, with at most 10% 429s", async () => {
    const { results, api } = await createAllBehind(tokenBucket(50, 100));
    expectEveryCreateOnce(results, api.created);
    // The limit was met (the burst is 50), and the gate held the rest instead of letting them hit
    // it; without the gate the 100 calls past the burst would all answer 429 at least once.
    expect(api.limited).toBeGreaterThan(0);
    expect(api.limited).toBeLessThanOrEqual(CALLS / 10);
  });

  it("a fixed window (60 per second, Retry-After to its end): all succeed once each, with at most 10% 429s", async () => {
    const { results, api } = await createAllBehind(fixedWindow(60, 1_000));
    expectEveryCreateOnce(results, api.created);
    expect(api.limited).toBeGreaterThan(0);
    expect(api.limited).toBeLessThanOrEqual(CALLS / 10);
  });
});
