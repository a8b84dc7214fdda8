// 500 concurrent creates against a rate limiter: every one completes, none is created twice.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient } from "../src/index.ts";
import { BRANCH } from "./support/fixtures.ts";
import { type RateLimitedServer, startRateLimitedServer } from "./support/rate-limited-server.ts";

const CALLS = 500;
let server: RateLimitedServer;
beforeAll(async () => {
  server = await startRateLimitedServer(100, 250);
});
afterAll(() => server.close());

describe("under a rate limit", () => {
  it("completes 500 concurrent createRole calls with no failure and no duplicate create", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    const heapBefore = process.memoryUsage().heapUsed;
    try {
      const ps = createClient({ serviceToken: "a:b", baseUrl: server.url, maxRetries: 30 });
      const results = await Promise.allSettled(
        Array.from({ length: CALLS }, (_, i) => ps.createRole({ ...BRANCH, name: `load-${i}` })),
      );
      const failed = results.filter((r) => r.status === "rejected");
      expect(failed).toEqual([]);
      const names = results.map((r) => (r.status === "fulfilled" ? r.value.name : ""));
      expect(new Set(names).size).toBe(CALLS);
      expect(server.created).toHaveLength(CALLS);
      expect(new Set(server.created).size).toBe(CALLS);
      expect(server.limited).toBeGreaterThan(0);
      expect(unhandled).toEqual([]);
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(200 * 1024 * 1024);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  }, 60_000);
});
