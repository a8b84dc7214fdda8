// A lease when the API fails: renewals through a 503 storm and a 429 hold, the safety margin that
// replaces a role renewal cannot keep, lost create answers (never a second role per loss), and
// deletes that fail after a rotation.
import { describe, expect, it } from "vitest";
import { ConnectionError, NotFoundError, PlanetScaleError, RateLimitError, ServerError } from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { API_ROLE, leaseWorld, MINUTE, remaining } from "./support/lease.ts";

// As in lease.test.ts: renewal at 390 s after each (re)newed expiry, 210 s before it; the safety
// margin is 50 s (a quarter of renewBeforeMs); the lease's first retry comes 7.5 s after a failure.
const RENEW_AT = 390_000;
const FIRST_RETRY = 7_500;

describe("renewals when the API fails", () => {
  it("renews through a 503 storm on the lease's backoff (its own calls are not retried by the client), each failure told, never expired", async () => {
    const { clock, fake, lease: open, sent } = leaseWorld();
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    // Three 503s: three lease attempts of one request each (the loop calls with maxRetries 0) fail, the fourth renews.
    for (let fault = 0; fault < 3; fault++) fake.failNext("renew_role", { status: 503 });
    for (let second = 0; second < 500; second++) {
      await clock.advance(1_000);
      expect(remaining(clock, lease.current())).toBeGreaterThan(50_000);
    }
    expect(errors).toHaveLength(3);
    expect(errors.every((error) => error instanceof ServerError && error.operation === "renew_role")).toBe(true);
    expect(sent("renew_role")).toHaveLength(4);
    expect(sent("create_role")).toHaveLength(1);
    await lease.close();
  });

  it("keeps trying when onError itself throws or rejects", async () => {
    const { clock, fake, lease: open, sent } = leaseWorld({ maxRetries: 0 });
    let told = 0;
    const onError = () => {
      told++;
      if (told === 1) throw new Error("logger down");
      return Promise.reject(new Error("still down"));
    };
    const lease = await open({ onError });
    fake.failNext("renew_role", { status: 503 });
    fake.failNext("renew_role", { status: 503 });
    await clock.advance(RENEW_AT + FIRST_RETRY + 15_000);
    expect(told).toBe(2);
    expect(sent("renew_role")).toHaveLength(3);
    expect(remaining(clock, lease.current())).toBe(600_000);
    await lease.close();
  });

  it("waits out a 429 on its own backoff, not the client's gate: told to onError, the renewal goes when Retry-After ends", async () => {
    // The client's own limiter, which holds on the client's clock: the lease's retry comes once its hold is over.
    const { clock, fake, lease: open, sent } = leaseWorld();
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    fake.failNext("renew_role", { retryAfter: 30 });
    await clock.advance(RENEW_AT);
    expect(sent("renew_role")).toHaveLength(1);
    // Nothing waits on a timer that keeps a process alive (the client's or the gate's would).
    for (let second = 0; second < 29; second++) {
      expect(clock.holding()).toBe(0);
      await clock.advance(1_000);
    }
    await clock.advance(1_000 - 1);
    expect(sent("renew_role")).toHaveLength(1);
    await clock.advance(1);
    expect(sent("renew_role")).toHaveLength(2);
    expect(remaining(clock, lease.current())).toBe(600_000);
    expect(errors.map((error) => error.constructor)).toEqual([RateLimitError]);
    await lease.close();
  });

  it("waits at least a Retry-After too long for the client, and no longer than the replace point allows", async () => {
    const { clock, fake, lease: open, sent } = leaseWorld({ rateLimiter: false });
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    // 120 s is past the client's maxRetryAfterMs (60 s): the RateLimitError comes to the lease.
    fake.failNext("renew_role", { retryAfter: 120 });
    fake.failNext("renew_role", { retryAfter: 600 });
    await clock.advance(RENEW_AT);
    expect(errors[0]).toBeInstanceOf(RateLimitError);
    await clock.advance(120_000 - 1);
    expect(sent("renew_role")).toHaveLength(1);
    await clock.advance(1);
    expect(sent("renew_role")).toHaveLength(2);
    // The second asks for 10 minutes: the role would be gone. At the replace point (50 s before
    // expiry, 40 s from now) the lease makes a new role instead.
    await clock.advance(40_000 - 1);
    expect(sent("create_role")).toHaveLength(1);
    await clock.advance(1);
    expect(sent("create_role")).toHaveLength(2);
    expect(remaining(clock, lease.current())).toBe(600_000);
    await lease.close();
  });

  it("replaces the role at the safety margin when every renewal fails, before it expires", async () => {
    const { clock, fake, lease: open, sent } = leaseWorld({ maxRetries: 0 });
    const changes: string[] = [];
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onChange: (next) => changes.push(next.id), onError: (error) => errors.push(error) });
    const first = lease.current();
    for (let fault = 0; fault < 50; fault++) fake.failNext("renew_role", { status: 500 });
    // Tries at 390, 397.5, 412.5, 442.5 and 502.5 s; the next backoff (120 s) is cut to the replace point, 550 s.
    await clock.advance(550_000 - 1);
    expect(sent("renew_role")).toHaveLength(5);
    expect(sent("create_role")).toHaveLength(1);
    expect(remaining(clock, lease.current())).toBe(50_001);
    await clock.advance(1);
    expect(sent("create_role")).toHaveLength(2);
    expect(lease.current().id).not.toBe(first.id);
    expect(changes).toEqual([first.id, lease.current().id]);
    // And one more renewal, of the replaced role, which would expire 10 s before its grace ends.
    expect(sent("renew_role")).toHaveLength(6);
    expect(sent("renew_role")[5]?.path).toContain(first.id);
    expect(errors).toHaveLength(6);
    await lease.close();
  });

  it("under the margin only replaces: with creates failing too, no renewal is tried, and creates close in on the expiry, then back off past it", async () => {
    const { clock, fake, lease: open, sent, sentAt } = leaseWorld({ maxRetries: 0 });
    const lease = await open({ onError: () => {} });
    for (let fault = 0; fault < 50; fault++) fake.failNext("renew_role", { status: 500 });
    for (let fault = 0; fault < 10; fault++) fake.failNext("create_role", { status: 503 });
    await clock.advance(700_000);
    expect(sent("renew_role")).toHaveLength(5);
    // Backoffs of 7.5 and 15 s; then the 30 s one is cut to half the time left (13.75 s, 6.875 s,
    // 3.437 s, 1.719 s), until that half is under a second: the next try is at the expiry, 600 s.
    // Past it the backoff goes on where it stood: 30 s, then 60 s.
    expect(sentAt("create_role")).toEqual([
      0, 550_000, 557_500, 572_500, 586_250, 593_125, 596_562, 598_281, 600_000, 630_000, 690_000,
    ]);
    await lease.close();
  });

  it("replaces at once a role that renewal finds gone (404)", async () => {
    const { clock, ps, fake, lease: open } = leaseWorld();
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    const first = lease.current();
    await ps.deleteRole({ organization: "acme", database: "app-db", branch: "main", id: first.id });
    await clock.advance(RENEW_AT);
    expect(errors.map((error) => error.constructor)).toEqual([NotFoundError]);
    expect(lease.current().id).not.toBe(first.id);
    expect(fake.roles().map((role) => role.id)).toEqual([lease.current().id]);
    await clock.advance(MINUTE);
    expect(errors).toHaveLength(1);
    await lease.close();
  });
});

describe("an API that gives less time than asked", () => {
  it("stops renewing a role whose renewal no longer extends it, and replaces it at the safety margin", async () => {
    const { clock, lease: open, sent, edit } = leaseWorld();
    const lease = await open();
    const first = lease.current();
    // The role's expiry is capped where it was: renewing "succeeds" but moves nothing (for ten
    // answers: a lease that renewed again at once would otherwise loop without end).
    let capped = 0;
    edit("renew_role", (role) => (++capped > 10 ? role : { ...role, expires_at: first.expires_at }));
    await clock.advance(550_000 - 1);
    expect(sent("renew_role")).toHaveLength(1);
    expect(sent("create_role")).toHaveLength(1);
    await clock.advance(1);
    expect(sent("create_role")).toHaveLength(2);
    expect(lease.current().id).not.toBe(first.id);
    await lease.close();
  });

  it("renews a new role that comes back expiring within the safety margin, on the backoff, rather than replacing it", async () => {
    const { clock, lease: open, sent, sentAt, edit } = leaseWorld();
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    const soon = () => new Date(clock.now() + 30_000).toISOString();
    edit("create_role", (role) => ({ ...role, expires_at: soon() }));
    const replaced = await lease.rotate();
    expect(remaining(clock, replaced)).toBe(30_000);
    await clock.advance(0);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringContaining("30000 ms from now, though its ttl is 600 s: the server granted less than asked"),
    ]);
    expect(sent("create_role")).toHaveLength(2);
    await clock.advance(FIRST_RETRY - 1);
    expect(sent("renew_role")).toHaveLength(0);
    // The renewal's answer (the ttl, unedited) brings the role back to the usual timing: no create since.
    await clock.advance(1);
    expect(sentAt("renew_role")).toEqual([FIRST_RETRY]);
    expect(remaining(clock, lease.current())).toBe(600_000);
    await clock.advance(10 * MINUTE);
    expect(sent("create_role")).toHaveLength(2);
    await lease.close();
  });
});

describe("a replacement whose create answer is lost near the expiry", () => {
  // A 60 s role on the default timing: renewed at 39 s (renewBeforeMs 20 s, its jitter 1 s), the
  // safety margin 5 s. Renewals fail at 39 and 46.5 s; the next retry is cut to the replace point, 55 s.
  const SHORT_ROLE = { ...API_ROLE, ttl: 60 };

  it("tries again while the role still works, so that current() never hands out an expired role", async () => {
    const { clock, fake, lease: open, sent, sentAt, edit } = leaseWorld({ maxRetries: 0 });
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) }, SHORT_ROLE);
    const first = lease.current();
    for (let fault = 0; fault < 2; fault++) fake.failNext("renew_role", { status: 503 });
    fake.failNext("create_role", { connectionReset: true });
    // Every later create answers well, 1.5 s after it was sent.
    edit("create_role", async (role) => {
      await clock.sleep(1_500);
      return role;
    });
    for (let at = 50; at <= 65_000; at += 50) {
      await clock.advance(50);
      expect(remaining(clock, lease.current()), `current() at ${at} ms`).toBeGreaterThan(0);
    }
    expect(sentAt("renew_role").slice(0, 2)).toEqual([39_000, 46_500]);
    // The lost create at 55 s leaves 5 s: the next try comes after half of that, and lands the
    // role at 59 s, a second before the first one expires.
    expect(sentAt("create_role")).toEqual([0, 55_000, 57_500]);
    expect(sent("list_roles")).toHaveLength(1);
    expect(lease.current().id).not.toBe(first.id);
    expect(errors.map((error) => error.constructor)).toEqual([ServerError, ServerError, ConnectionError]);
    await lease.close();
  });
});

/** leaseRole's first create answer is lost, and `failing` (the look for it, or its delete) fails once. */
async function firstCreateLost(failing: "list_roles" | "delete_role") {
  const { fake, lease: open } = leaseWorld({ maxRetries: 0 });
  fake.failNext("create_role", { connectionReset: true });
  fake.failNext(failing, { status: 503 });
  const error = await failure(open());
  return { error, lost: fake.roles()[0] };
}

describe("a create whose answer was lost", () => {
  it("leaves no second role: the lost one is found by its name and deleted before the next create", async () => {
    const { clock, fake, mostAlive, lease: open, sent } = leaseWorld();
    const errors: PlanetScaleError[] = [];
    const lease = await open({ rotateAfterMs: 15 * MINUTE, onError: (error) => errors.push(error) });
    const first = lease.current();
    fake.failNext("create_role", { connectionReset: true });
    await clock.advance(15 * MINUTE);
    expect(errors[0]).toBeInstanceOf(ConnectionError);
    const lostName = (sent("create_role")[1]?.body as { name?: string } | undefined)?.name;
    expect(fake.roles().map((role) => role.name)).toEqual([first.name, lostName]);
    expect(lease.current().id).toBe(first.id);
    await clock.advance(FIRST_RETRY);
    expect(sent("list_roles").map((request) => request.query.q)).toEqual([lostName]);
    expect(sent("create_role")).toHaveLength(3);
    expect(fake.roles().map((role) => role.name)).toEqual([first.name, lease.current().name]);
    expect(mostAlive()).toBe(2);
    await lease.close();
    expect(fake.roles()).toEqual([]);
  });

  it("creates nothing more while the lost role cannot be looked for", async () => {
    const { clock, fake, lease: open, sent } = leaseWorld({ maxRetries: 0 });
    const errors: PlanetScaleError[] = [];
    const lease = await open({ rotateAfterMs: 15 * MINUTE, onError: (error) => errors.push(error) });
    fake.failNext("create_role", { connectionReset: true });
    for (let fault = 0; fault < 3; fault++) fake.failNext("list_roles", { status: 500 });
    // The lost create at 15 min, then three looks that fail (7.5, 15 and 30 s apart), then one that works, 60 s on.
    await clock.advance(15 * MINUTE + FIRST_RETRY + 15_000 + 30_000);
    expect(sent("list_roles")).toHaveLength(3);
    expect(sent("create_role")).toHaveLength(2);
    const lostName = (sent("create_role")[1]?.body as { name?: string } | undefined)?.name;
    expect(errors[1]?.message).toContain(`The lease was clearing role "${lostName}", which a create whose answer`);
    await clock.advance(60_000 - 1);
    expect(sent("list_roles")).toHaveLength(3);
    await clock.advance(1);
    expect(sent("list_roles")).toHaveLength(4);
    expect(sent("create_role")).toHaveLength(3);
    expect(fake.roles()).toHaveLength(2);
    await lease.close();
  });

  it("rejects leaseRole when the first create's answer is lost, after deleting the role it made", async () => {
    const { fake, lease: open } = leaseWorld();
    fake.failNext("create_role", { connectionReset: true });
    const error = await failure(open());
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.message).toMatch(/leaseRole then looked for "api-[a-z0-9]{8}" and deleted what it found/);
    expect(fake.roles()).toEqual([]);
  });

  it("names the role left behind when the first create's answer is lost and looking for it fails", async () => {
    const { error, lost } = await firstCreateLost("list_roles");
    expect(error.message).toContain(
      `leaseRole could not clean up after it: a role named ${lost?.name}, whose create answer was lost, may exist: looking for it failed: list_roles failed: 503`,
    );
    expect(error.message).toContain(
      `Look for it with listRoles({ organization, database, branch, q: "${lost?.name}" }).`,
    );
    // Nothing says the lease goes on, or had opened: leaseRole rejected.
    expect(error.message).not.toMatch(/lease closed|creates no other role|\.\./);
  });

  it("names the role found and left behind, with its id, when the first create's answer is lost and its delete fails", async () => {
    const { error, lost } = await firstCreateLost("delete_role");
    expect(error.message).toContain(
      `leaseRole could not clean up after it: role ${lost?.name} (id ${lost?.id}) on acme/app-db/main, made by the create whose answer was lost, was left behind: deleting it failed: delete_role failed: 503`,
    );
    expect(error.message).toContain(
      `Delete it with deleteRole({ organization, database, branch, id: "${lost?.id}" }).`,
    );
    expect(error.message).not.toMatch(/looking for it failed|lease closed|creates no other role|\.\./);
  });
});

describe("a delete that fails after rotation", () => {
  it("is told to onError, naming the role, and tried again until it is gone", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const errors: PlanetScaleError[] = [];
    const lease = await open({ rotateAfterMs: 15 * MINUTE, onError: (error) => errors.push(error) });
    const first = lease.current();
    // One: the loop's calls are not retried by the client (maxRetries 0), only on the lease's backoff.
    fake.failNext("delete_role", { status: 500 });
    // The grace ends at 16 min.
    await clock.advance(16 * MINUTE + 2_000);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ServerError);
    expect(errors[0]?.message).toContain(
      `keeps trying to delete role ${first.name} (id ${first.id}) on acme/app-db/main`,
    );
    expect(fake.roles()).toHaveLength(2);
    await clock.advance(FIRST_RETRY);
    expect(fake.roles().map((role) => role.id)).toEqual([lease.current().id]);
    await lease.close();
  });

  it("is named at close, with how to delete it, while the rest is deleted", async () => {
    const { clock, fake, lease: open } = leaseWorld({ maxRetries: 0 });
    const lease = await open({ rotateAfterMs: 15 * MINUTE, onError: () => {} });
    const first = lease.current();
    fake.failNext("delete_role", { status: 500 });
    fake.failNext("delete_role", { status: 500 });
    await clock.advance(16 * MINUTE);
    const current = lease.current();
    const error = await failure(lease.close());
    expect(error).toBeInstanceOf(PlanetScaleError);
    expect(error.message).toContain(`role ${first.name} (id ${first.id}) on acme/app-db/main was left behind`);
    expect(error.message).toContain(`deleteRole({ organization, database, branch, id: "${first.id}" })`);
    expect(error.message).not.toContain(current.id);
    expect(fake.roles().map((role) => role.id)).toEqual([first.id]);
    expect(clock.pending()).toBe(0);
  });
});

describe("a renew answer whose expires_at cannot be right", () => {
  // Renewed at 390 s with an answer of no use for timing, the role is taken to expire at 390 + 600 s:
  // renewed again at 780 s (210 s before that), as if the answer had said so.
  for (const [what, expiresAt] of [
    ["null", null],
    ["far beyond now + ttl", "2099-01-01T00:00:00.000Z"],
  ] as const) {
    it(`times the next renewal from now + ttl when expires_at is ${what}, tells onError, and never lets the role expire`, async () => {
      const { clock, fake, lease: open, sent, edit } = leaseWorld();
      const errors: PlanetScaleError[] = [];
      const lease = await open({ onError: (error) => errors.push(error) });
      edit("renew_role", (role) => ({ ...role, expires_at: expiresAt }));
      await clock.advance(RENEW_AT);
      expect(sent("renew_role")).toHaveLength(1);
      expect(errors.map((error) => error.message)).toEqual([
        expect.stringContaining(`renew_role answered expires_at ${JSON.stringify(expiresAt)}`),
      ]);
      expect(errors[0]?.message).toContain(`the lease counts on ${new Date(clock.now() + 600_000).toISOString()}`);
      expect(remaining(clock, lease.current())).toBe(600_000);
      await clock.advance(RENEW_AT - 1);
      expect(sent("renew_role")).toHaveLength(1);
      await clock.advance(1);
      expect(sent("renew_role")).toHaveLength(2);
      for (let step = 0; step < 60; step++) {
        await clock.advance(60_000);
        expect(fake.roles().find((role) => role.id === lease.current().id)?.expired).toBe(false);
      }
      await lease.close();
    });
  }

  it("believes an expires_at up to 5 s past now + ttl (clocks apart), telling onError nothing", async () => {
    const { clock, lease: open, edit } = leaseWorld();
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    edit("renew_role", (role) => ({ ...role, expires_at: new Date(clock.now() + 605_000).toISOString() }));
    await clock.advance(RENEW_AT);
    expect(remaining(clock, lease.current())).toBe(605_000);
    expect(errors).toEqual([]);
    await lease.close();
  });
});
