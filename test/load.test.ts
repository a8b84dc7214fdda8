// Concurrent creates against a rate limiter, with default options: every one completes, none is
// created twice, and the client's gate keeps the 429s few. Timing figures belong to bench/load.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, DEFAULT_MAX_CONCURRENCY } from "../src/index.ts";
import { BRANCH } from "./support/fixtures.ts";
import { type RateLimitedServer, startRateLimitedServer } from "./support/rate-limited-server.ts";

const CALLS = 150;
let server: RateLimitedServer;
beforeAll(async () => {
  server = await startRateLimitedServer(50, 100);
});
afterAll(() => server.close());

describe("under a rate limit", () => {
  it("completes 150 concurrent createRole calls with default options: no failure, no duplicate create, few 429s", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const heapBefore = process.memoryUsage().heapUsed;
    try {
      const ps = createClient({ serviceToken: "a:b", baseUrl: server.url });
      const results = await Promise.allSettled(
        Array.from({ length: CALLS }, (_, i) => ps.createRole({ ...BRANCH, name: `load-${i}` })),
      );
      const failed = results.filter((r) => r.status === "rejected");
      expect(failed).toEqual([]);
      const names = results.map((r) => (r.status === "fulfilled" ? r.value.name : ""));
      expect(new Set(names).size).toBe(CALLS);
      expect(server.created).toHaveLength(CALLS);
      expect(new Set(server.created).size).toBe(CALLS);
      // The limit was met (the burst is 50), and the gate held the rest instead of letting them hit it:
      // a hold costs at most the calls already in flight (maxConcurrency), and a loaded machine may
      // see up to three holds. Without the gate the first 100 calls past the burst all answer 429.
      expect(server.limited).toBeGreaterThan(0);
      expect(server.limited).toBeLessThanOrEqual(3 * DEFAULT_MAX_CONCURRENCY);
      expect(unhandled).toEqual([]);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 1024 * 1024);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  }, 60_000);
});
