// lease.fresh(): the lazy check at use, for processes whose timers did not run. The clock jumps
// (time passes, no sleeper wakes), as for a frozen serverless instance or a blocked event loop.
import { describe, expect, it } from "vitest";
import { InvalidRequestError, type PlanetScaleError, ServerError } from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { leaseWorld, MINUTE, remaining } from "./support/lease.ts";

describe("lease.fresh()", () => {
  it("renews first when the clock has jumped past the renew point without any timer running", async () => {
    const { clock, lease: open, sent } = leaseWorld();
    const lease = await open();
    clock.jump(400_000);
    expect(sent("renew_role")).toHaveLength(0);
    const role = await lease.fresh();
    expect(sent("renew_role")).toHaveLength(1);
    expect(remaining(clock, role)).toBe(600_000);
    // The timer that was due wakes late, finds nothing to do, and sleeps until the next renew point.
    await clock.advance(0);
    expect(sent("renew_role")).toHaveLength(1);
    await clock.advance(390_000);
    expect(sent("renew_role")).toHaveLength(2);
    await lease.close();
  });

  it("replaces a role that expired while the process was frozen, and hands the new one out", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const changes: string[] = [];
    const lease = await open({ onChange: (next) => changes.push(next.id) });
    const first = lease.current();
    clock.jump(20 * MINUTE);
    // current() does not hand out the dead role; fresh() makes a new one.
    expect(() => lease.current()).toThrow(`${first.name} (id ${first.id}) on acme/app-db/main expired at`);
    const role = await lease.fresh();
    expect(role.id).not.toBe(first.id);
    expect(remaining(clock, role)).toBe(600_000);
    expect(changes).toEqual([first.id, role.id]);
    expect(lease.current()).toBe(role);
    await clock.advance(60_000);
    expect(fake.roles().map((alive) => alive.id)).toEqual([role.id]);
    await lease.close();
  });

  it("sends nothing while the role is valid long enough and nothing is due", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const lease = await open();
    await clock.advance(100_000);
    const before = fake.requests.length;
    expect(await lease.fresh({ minValidityMs: 400_000 })).toBe(lease.current());
    expect(fake.requests.length).toBe(before);
    await lease.close();
  });

  it("renews early when asked for more validity than is left, and replaces only if renewing is not enough", async () => {
    const { clock, lease: open, sent } = leaseWorld();
    const lease = await open();
    const first = lease.current();
    await clock.advance(200_000);
    const role = await lease.fresh({ minValidityMs: 500_000 });
    expect(sent("renew_role")).toHaveLength(1);
    expect(sent("create_role")).toHaveLength(1);
    expect(role.id).toBe(first.id);
    expect(remaining(clock, role)).toBe(600_000);
    await lease.close();
  });

  it("answers with the role it has when renewing fails but the role is still valid for what was asked", async () => {
    const { clock, fake, lease: open } = leaseWorld({ maxRetries: 0 });
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    clock.jump(400_000);
    fake.failNext("renew_role", { status: 503 });
    const role = await lease.fresh({ minValidityMs: 60_000 });
    expect(remaining(clock, role)).toBe(200_000);
    expect(errors.map((error) => error.constructor)).toEqual([ServerError]);
    await lease.close();
  });

  it("rejects when the role has expired and no new one can be made", async () => {
    const { clock, fake, lease: open, sent } = leaseWorld({ maxRetries: 0 });
    const lease = await open({ onError: () => {} });
    clock.jump(11 * MINUTE);
    fake.failNext("create_role", { status: 422 });
    fake.failNext("create_role", { status: 422 });
    const error = await failure(lease.fresh());
    expect(error.status).toBe(422);
    expect(error.operation).toBe("create_role");
    // Past the replace point a role is not renewed (the fake would still renew an expired role).
    expect(sent("renew_role")).toHaveLength(0);
    await lease.close();
  });

  it("refuses a minValidityMs no role can have, naming it, and sends nothing", async () => {
    const { fake, lease: open } = leaseWorld();
    const lease = await open();
    const before = fake.requests.length;
    // A new role is valid for the ttl at best, from when its answer came, and the clock moves on:
    // the ttl itself can never be had either.
    for (const minValidityMs of [600_000, 600_001]) {
      const error = await failure(lease.fresh({ minValidityMs }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect((error as InvalidRequestError).field).toBe("minValidityMs");
      expect(error.message).toContain("less than the ttl (600000 ms)");
    }
    expect(await lease.fresh({ minValidityMs: 599_999 })).toBe(lease.current());
    expect((await failure(lease.fresh({ minValidity: 1 } as never))).message).toContain("fresh takes minValidityMs");
    expect(fake.requests.length).toBe(before);
    await lease.close();
  });
});
