// What a client tells the rate limiter it is given (the RateLimiter interface a shared store
// implements): who the credentials are, as a hash, and how long each call may still wait.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createClient, InvalidRequestError, type RateLimiter } from "../src/index.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { manualClock } from "./support/clock.ts";
import { BRANCH } from "./support/fixtures.ts";

function recordingLimiter() {
  const told = { identities: [] as unknown[], timeLeft: [] as (number | undefined)[] };
  const limiter: RateLimiter = {
    acquire(_signal, timeLeftMs) {
      told.timeLeft.push(timeLeftMs);
      return undefined;
    },
    limited() {},
    accepted() {},
    bind(identity) {
      told.identities.push(identity);
    },
  };
  return { limiter, told };
}

describe("a client and the rate limiter it is given", () => {
  it("binds the hex SHA-256 of its Authorization value once, never the token", async () => {
    const fake = createFakePlanetScale();
    const { limiter, told } = recordingLimiter();
    createClient({ serviceToken: fake.serviceToken, baseUrl: fake.baseUrl, fetch: fake.fetch, rateLimiter: limiter });
    expect(told.identities).toHaveLength(1);
    const identity = await told.identities[0];
    const { id, token } = fake.serviceToken;
    expect(identity).toBe(createHash("sha256").update(`${id}:${token}`).digest("hex"));
    expect(String(identity)).not.toContain(token);
  });

  it("tells acquire how long the call may still wait: its timeoutMs, less what the wait for a place took", async () => {
    const clock = manualClock();
    const fake = createFakePlanetScale();
    const { limiter, told } = recordingLimiter();
    let calls = 0;
    // The first create takes 1.5 s of the test's clock; the second waits that long for its place.
    const slowFirst: typeof fetch = async (input, init) => {
      if (calls++ === 0) await clock.sleep(1_500);
      return fake.fetch(input, init);
    };
    const ps = createClient({
      serviceToken: fake.serviceToken,
      baseUrl: fake.baseUrl,
      fetch: slowFirst,
      rateLimiter: limiter,
      maxConcurrency: 1,
      clock,
    });
    const first = ps.createRole({ ...BRANCH, name: "first" }, { timeoutMs: 5_000 });
    const second = ps.createRole({ ...BRANCH, name: "second" }, { timeoutMs: 5_000 });
    await clock.advance(1_500);
    await Promise.all([first, second]);
    expect(told.timeLeft).toEqual([5_000, 3_500]);
  });

  it("refuses a bind that is not a function", () => {
    const { limiter } = recordingLimiter();
    expect(() => createClient({ serviceToken: "id:secret", rateLimiter: { ...limiter, bind: 1 as never } })).toThrow(
      InvalidRequestError,
    );
  });
});
