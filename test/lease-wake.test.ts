// The lease's loop on timers that do not wake exactly when asked: Node's setTimeout can end a wait
// about a millisecond early measured against Date.now(), and a short-lived role has no second to spare.
import { describe, expect, it } from "vitest";
import { createClient } from "../src/index.ts";
import { leaseRole } from "../src/lease.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { manualClock } from "./support/clock.ts";
import { API_ROLE } from "./support/lease.ts";

/** A 3-second role on a clock whose long waits end `earlyMs` early. */
async function shortLease(earlyMs: number) {
  const clock = manualClock(undefined, { earlyUnrefMs: earlyMs });
  const fake = createFakePlanetScale({ now: () => new Date(clock.now()) });
  const ps = createClient({ serviceToken: fake.serviceToken, baseUrl: fake.baseUrl, fetch: fake.fetch, clock });
  const lease = await leaseRole({ client: ps, clock, random: () => 0.5 }, { ...API_ROLE, ttl: 3 });
  const sent = (operation: string) => fake.requests.filter((request) => request.operation === operation).length;
  return { clock, lease, sent };
}

describe("a renewal timer that wakes early", () => {
  it("renews at its point when the wait ends 1 ms early, and a 3-second role never expires", async () => {
    const { clock, lease, sent } = await shortLease(1);
    // renewBeforeMs 1 000 and half the jitter's 100: the renew point is 1 950 ms after the create;
    // the wake 1 ms before it is taken as on time.
    await clock.advance(1_948);
    expect(sent("renew_role")).toBe(0);
    await clock.advance(1);
    expect(sent("renew_role")).toBe(1);
    for (let step = 0; step < 600; step++) {
      await clock.advance(100);
      expect(Date.parse(lease.current().expires_at ?? "") - clock.now()).toBeGreaterThan(0);
    }
    expect(sent("create_role")).toBe(1);
    await lease.close();
  });

  it("waits out the rest after a wake 20 ms early, not the second between passes that failed", async () => {
    const { clock, lease, sent } = await shortLease(20);
    await clock.advance(1_949);
    expect(sent("renew_role")).toBe(0);
    await clock.advance(1);
    expect(sent("renew_role")).toBe(1);
    await lease.close();
  });
});
