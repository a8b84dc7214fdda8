// What an outside attack on the packed package found in the lease, each on a clock the test steers:
// a renew answer naming another role, rotations that overlap, an abort while the first role is
// handed over, a callback's words that carry a password.
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { AbortError, connectionString, type PlanetScaleError, UnexpectedResponseError } from "../src/index.ts";
import { leaseRole } from "../src/lease.ts";
import { settle } from "./support/clock.ts";
import { failure } from "./support/failure.ts";
import { API_ROLE, leaseWorld, MINUTE } from "./support/lease.ts";

// API_ROLE (ttl 600 s) on random 0.5: renewed 390 s after each expiry was set.
const RENEW_AT = 390_000;

describe("a renew answer that names another role", () => {
  it("is not adopted: the renewal failed (body kept), onError is told, and close() deletes the role really made", async () => {
    const { clock, fake, lease: open, edit } = leaseWorld({ maxRetries: 0 });
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    const made = lease.current();
    let renewals = 0;
    edit("renew_role", (role) => (++renewals === 1 ? { ...role, id: "not-the-role-renewed" } : role));
    await clock.advance(RENEW_AT);
    expect(lease.current().id).toBe(made.id);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(UnexpectedResponseError);
    expect(errors[0]?.message).toContain(
      `renew_role answered id "not-the-role-renewed" for role ${made.name} (id ${made.id})`,
    );
    expect((errors[0] as UnexpectedResponseError).body).toContain("not-the-role-renewed");
    // The renewal is tried again on the lease's backoff, and this time adopted.
    await clock.advance(10_000);
    expect(renewals).toBe(2);
    expect(lease.current().id).toBe(made.id);
    await lease.close();
    expect(fake.roles()).toEqual([]);
  });
});

describe("a callback's words repeated in the lease's errors", () => {
  it("mask the password of the lease's roles, plain and URL-encoded", async () => {
    const { clock, lease: open, edit } = leaseWorld({ maxRetries: 0 });
    // Characters a connection string encodes, so that the two forms differ.
    edit("create_role", (role) => ({ ...role, password: `${role.password}@/:?ü` }));
    const told: string[] = [];
    const handed: string[] = [];
    let refuse = false;
    const lease = await open({
      rotateAfterMs: 15 * MINUTE,
      onChange: (next) => {
        handed.push(next.password);
        if (refuse) throw new Error(`cannot reach ${connectionString(next)} as ${next.password}`);
      },
      onError: (error) => told.push(`lease: ${error.message}`),
    });
    refuse = true;
    await clock.advance(15 * MINUTE);
    expect(handed).toHaveLength(2);
    expect(told).toHaveLength(1);
    expect(told[0]).toContain("onChange failed (cannot reach postgresql://");
    expect(told[0]).toContain("[redacted]");
    for (const password of handed) {
      expect(encodeURIComponent(password)).not.toBe(password);
      expect(told[0]).not.toContain(password);
      expect(told[0]).not.toContain(encodeURIComponent(password));
    }
    await lease.close();
  });
});

describe("rotate() calls that overlap", () => {
  it("refuses a rotate() whose turn comes while another's hand-over is under way, so the previous role keeps its grace", async () => {
    const { clock, fake, lease: open, sent } = leaseWorld();
    let release: () => void = () => {};
    let calls = 0;
    const onChange = () => (++calls === 1 ? undefined : new Promise<void>((resolve) => (release = resolve)));
    const lease = await open({ graceMs: 60_000, onChange });
    const first = lease.current();
    const rotations = [lease.rotate(), lease.rotate(), lease.rotate()].map((rotation) =>
      rotation.then(
        (role) => role.id,
        (error: Error) => error.message,
      ),
    );
    await clock.advance(5 * MINUTE);
    // The first rotation's onChange has not settled: its predecessor is alive, no second role was made.
    expect(sent("create_role")).toHaveLength(2);
    expect(sent("delete_role")).toHaveLength(0);
    expect(fake.roles().map((role) => role.id)).toContain(first.id);
    release();
    const [second, third, fourth] = await Promise.all(rotations);
    expect(second).toBe(lease.current().id);
    for (const refused of [third, fourth])
      expect(refused).toContain("rotate() was called while a hand-over is under way");
    await clock.advance(60_000 - 1);
    expect(fake.roles().map((role) => role.id)).toContain(first.id);
    await clock.advance(1);
    expect(fake.roles().map((role) => role.id)).toEqual([lease.current().id]);
    await lease.close();
  });
});

describe("leaseRole's signal while the first role is made", () => {
  it("sends the first create with the signal: an abort rejects at once and leaves nothing behind", async () => {
    const { clock, fake, lease: open, edit } = leaseWorld({ maxRetries: 0 });
    edit("create_role", async (role) => {
      await clock.sleep(6_000);
      return role;
    });
    const controller = new AbortController();
    const opening = failure(open({ signal: controller.signal }));
    await clock.advance(500);
    controller.abort(new Error("shutting down"));
    await settle();
    await clock.advance(0);
    const error = await opening;
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toContain("leaseRole was aborted while its first role was made");
    await clock.advance(6_000);
    expect(fake.roles()).toEqual([]);
  });

  it("rejects at once when aborted while the first onChange hangs, and deletes the role it made", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const controller = new AbortController();
    const opening = failure(open({ signal: controller.signal, onChange: () => new Promise(() => {}) }));
    await clock.advance(1_000);
    expect(fake.roles()).toHaveLength(1);
    controller.abort(new Error("shutting down"));
    await clock.advance(0);
    const error = await opening;
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toBe("leaseRole was aborted while its first role was made; the role was deleted");
    expect(fake.roles()).toEqual([]);
    expect(clock.pending()).toBe(0);
  });

  it("names the first role as left behind when its delete fails after the abort", async () => {
    const { clock, fake, lease: open } = leaseWorld({ maxRetries: 0 });
    const controller = new AbortController();
    const opening = failure(open({ signal: controller.signal, onChange: () => new Promise(() => {}) }));
    await clock.advance(1_000);
    const [made] = fake.roles();
    fake.failNext("delete_role", { status: 503 });
    controller.abort(new Error("shutting down"));
    await clock.advance(0);
    const error = await opening;
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toContain(
      `leaseRole was aborted while its first role was made: role ${made?.name} (id ${made?.id}) on acme/app-db/main was left behind`,
    );
    expect(error.message).toContain(`deleteRole({ organization, database, branch, id: "${made?.id}" })`);
  });
});

describe("current() once the role has expired", () => {
  it("throws, saying when it expired and that renewals failed, rather than hand out a dead role", async () => {
    const { clock, fake, lease: open } = leaseWorld({ maxRetries: 0 });
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    const made = lease.current();
    for (let fault = 0; fault < 50; fault++) fake.failNext("renew_role", { status: 500 });
    for (let fault = 0; fault < 50; fault++) fake.failNext("create_role", { status: 503 });
    await clock.advance(600_000 - 1);
    expect(lease.current().id).toBe(made.id);
    await clock.advance(1);
    const error = (() => {
      try {
        lease.current();
      } catch (thrown) {
        return thrown as PlanetScaleError;
      }
    })();
    expect(error?.constructor.name).toBe("PlanetScaleError");
    expect(error?.message).toBe(
      `lease: role ${made.name} (id ${made.id}) on acme/app-db/main expired at 2026-12-01T12:10:00.000Z, 0 ms ago: ` +
        "the lease could not renew nor replace it in time (each failure was told to onError); " +
        "await lease.fresh() makes a new role, or rejects saying why it cannot",
    );
    expect(error?.message).not.toContain(made.password);
    await lease.close();
  });

  it("says the role was found gone (404) when renewal found it deleted and no replacement came yet", async () => {
    const { clock, fake, ps, lease: open } = leaseWorld({ maxRetries: 0 });
    const lease = await open({ onError: () => {} });
    const made = lease.current();
    await ps.deleteRole({ organization: "acme", database: "app-db", branch: "main", id: made.id });
    for (let fault = 0; fault < 50; fault++) fake.failNext("create_role", { status: 503 });
    await clock.advance(RENEW_AT);
    expect(() => lease.current()).toThrow(
      `lease: role ${made.name} (id ${made.id}) on acme/app-db/main was found gone (404) at 2026-12-01T12:06:30.000Z`,
    );
    await lease.close();
  });
});

describe("bad options, as the outside attack sent them", () => {
  it("refuses a forged signal with an InvalidRequestError naming it", async () => {
    const { fake, lease: open } = leaseWorld();
    const error = await failure(open({ signal: Object.create(AbortSignal.prototype) }));
    expect(error.constructor.name).toBe("InvalidRequestError");
    expect(error.message).toContain("leaseRole: signal must be an AbortSignal");
    expect(fake.requests).toEqual([]);
  });

  it("refuses a renewBeforeMs that leaves no safety margin, and takes the least that leaves one", async () => {
    const { fake, lease: open } = leaseWorld();
    const error = await failure(open({ renewBeforeMs: 1 }));
    expect(error.constructor.name).toBe("InvalidRequestError");
    expect(error.message).toBe(
      "leaseRole: renewBeforeMs must be at least 2 ms: a quarter of it (rounded) is the safety margin " +
        "under which the lease replaces its role rather than renew it, and it must be more than 0 ms. Nothing was created.",
    );
    expect(fake.requests).toEqual([]);
    const lease = await open({ renewBeforeMs: 2 });
    await lease.close();
  });

  it("says of bad close() and fresh() options what is true: nothing was deleted, nothing was sent", async () => {
    const { fake, lease: open } = leaseWorld();
    const lease = await open();
    const sent = fake.requests.length;
    const closing = await failure(lease.close({ keepRoles: "yes" } as never));
    expect(closing.message).toBe(
      "lease.close: keepRoles must be true or false. Nothing was deleted: the lease is still open.",
    );
    const asking = await failure(lease.fresh({ minValidityMs: 600_000 }));
    expect(asking.message).toBe(
      "lease.fresh: minValidityMs must be less than the ttl (600000 ms): no role stays valid for the whole ttl once made. Nothing was sent.",
    );
    expect((await failure(lease.fresh({ soon: true } as never))).message).toContain("Nothing was sent.");
    expect(fake.requests).toHaveLength(sent);
    expect(lease.current().id).toBe(fake.roles()[0]?.id);
    await lease.close();
  });
});

describe("fresh() after a refused login", () => {
  // What createPool's refused-login path passes (src/pg/pool.ts names the key by Symbol.for too).
  const refused = { [Symbol.for("planetscale-roles.loginRefused")]: true } as { minValidityMs?: number };

  it("checks the role now: one deleted on the server (404) is replaced, though nothing was due", async () => {
    const { clock, fake, ps, lease: open, sent } = leaseWorld();
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    const made = lease.current();
    await clock.advance(MINUTE);
    await ps.deleteRole({ organization: "acme", database: "app-db", branch: "main", id: made.id });
    // Asked plainly, fresh() sees nothing due and sends nothing.
    expect((await lease.fresh()).id).toBe(made.id);
    expect(sent("renew_role")).toHaveLength(0);
    const [first, second] = await Promise.all([lease.fresh(refused), lease.fresh(refused)]);
    expect(first.id).not.toBe(made.id);
    expect(second.id).toBe(first.id);
    // The logins refused together shared one renewal.
    expect(sent("renew_role")).toHaveLength(1);
    expect(errors.map((error) => error.constructor.name)).toEqual(["NotFoundError"]);
    expect(fake.roles().map((role) => role.id)).toEqual([first.id]);
    await lease.close();
  });

  it("renews a role that is still there, and hands it back", async () => {
    const { clock, lease: open, sent } = leaseWorld();
    const lease = await open();
    const made = lease.current();
    await clock.advance(MINUTE);
    expect((await lease.fresh(refused)).id).toBe(made.id);
    expect(sent("renew_role")).toHaveLength(1);
    expect(Date.parse(lease.current().expires_at ?? "")).toBe(clock.now() + 600_000);
    await lease.close();
  });
});

describe("an expires_at much closer than the ttl asked", () => {
  // Random 0.5: the lease's backoff is three quarters of 10 s doubling to 5 minutes.
  const BACKOFF_AT = [7_500, 22_500, 52_500, 112_500, 232_500, 457_500, 682_500];

  it("renews on a backoff instead of creating roles in a loop, telling onError the likely cause, until an answer gives the ttl", async () => {
    const { clock, lease: open, sentAt, edit } = leaseWorld({ maxRetries: 0 });
    const errors: PlanetScaleError[] = [];
    let short = true;
    const granted = (role: Record<string, unknown>) =>
      short ? { ...role, expires_at: new Date(clock.now() + 2_000).toISOString() } : role;
    edit("create_role", granted);
    edit("renew_role", granted);
    const lease = await open({ onError: (error) => errors.push(error) });
    const made = lease.current();
    expect(errors[0]?.message).toBe(
      `lease: create_role answered expires_at ${made.expires_at} for role ${made.name} (id ${made.id}) on acme/app-db/main, ` +
        "2000 ms from now, though its ttl is 600 s: the server granted less than asked, or this machine's clock is " +
        "ahead of the API's (by about 598 s, if the server granted the whole ttl). The lease renews it on a backoff " +
        "(10 s doubling to 5 minutes) rather than make new roles, each of which would be as short",
    );
    await clock.advance(700_000);
    expect(sentAt("create_role")).toEqual([0]);
    expect(sentAt("renew_role")).toEqual(BACKOFF_AT);
    expect(errors).toHaveLength(1 + BACKOFF_AT.length);
    expect(errors.every((error) => error.message.includes("the server granted less than asked"))).toBe(true);
    // fresh() renews too (2 s more), and says why that is not the 5 s asked, rather than make a role.
    const asking = await failure(lease.fresh({ minValidityMs: 5_000 }));
    expect(asking.message).toContain("the server granted less than asked, or this machine's clock is ahead");
    expect(sentAt("create_role")).toEqual([0]);
    short = false;
    await clock.advance(225_000);
    expect(sentAt("renew_role")).toHaveLength(BACKOFF_AT.length + 2);
    // A full answer brings the usual timing back: renewed 390 s later.
    expect(lease.current().id).toBe(made.id);
    const renewedAt = sentAt("renew_role").at(-1) ?? 0;
    await clock.advance(renewedAt + 390_000 - (700_000 + 225_000) - 1);
    expect(sentAt("renew_role")).toHaveLength(BACKOFF_AT.length + 2);
    await clock.advance(1);
    expect(sentAt("renew_role")).toHaveLength(BACKOFF_AT.length + 3);
    await lease.close();
  });

  it("with this machine's clock 70 minutes ahead (every expires_at in the past), makes one role and names the skew", async () => {
    const { clock, lease: open, sentAt, edit } = leaseWorld({ maxRetries: 0 });
    const errors: PlanetScaleError[] = [];
    const skewed = (role: Record<string, unknown>) => ({
      ...role,
      expires_at: new Date(clock.now() - 70 * MINUTE + 600_000).toISOString(),
    });
    edit("create_role", skewed);
    edit("renew_role", skewed);
    const lease = await open({ onError: (error) => errors.push(error) });
    expect(errors[0]?.message).toContain(
      "-3600000 ms from now, though its ttl is 600 s: the server granted less than asked, or this machine's clock is ahead of the API's (by about 4200 s",
    );
    await clock.advance(60 * MINUTE);
    expect(sentAt("create_role")).toEqual([0]);
    // Backoffs of 7.5 s doubling to 225 s (three quarters of 5 minutes): 6 renewals by 457.5 s, then 13 more in the hour.
    expect(sentAt("renew_role")).toHaveLength(19);
    expect(() => lease.current()).toThrow("this machine's clock is ahead of the API's");
    await lease.close();
  });
});

describe("renew answers with odd expires_at values", () => {
  it("tells onError of an expires_at in the past, and renews again on the backoff rather than replace the role", async () => {
    const { clock, lease: open, sent, edit } = leaseWorld({ maxRetries: 0 });
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    const made = lease.current();
    let renewals = 0;
    const past = () => new Date(clock.now() - 1_000).toISOString();
    edit("renew_role", (role) => (++renewals === 1 ? { ...role, expires_at: past() } : role));
    await clock.advance(RENEW_AT);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringContaining(`renew_role answered expires_at ${past()}`),
    ]);
    expect(errors[0]?.message).toContain("-1000 ms from now, though its ttl is 600 s");
    await clock.advance(7_500);
    expect(renewals).toBe(2);
    expect(sent("create_role")).toHaveLength(1);
    expect(lease.current().id).toBe(made.id);
    expect(Date.parse(lease.current().expires_at ?? "")).toBe(clock.now() + 600_000);
    await lease.close();
  });

  it("counts a renew answer without expires_at (the spec requires it, nullable) as a failed renewal, keeping the role", async () => {
    const { clock, lease: open, sent, edit } = leaseWorld({ maxRetries: 0 });
    const errors: PlanetScaleError[] = [];
    const lease = await open({ onError: (error) => errors.push(error) });
    const made = lease.current();
    edit("renew_role", ({ expires_at: _dropped, ...role }) => role);
    await clock.advance(RENEW_AT);
    expect(errors.map((error) => error.constructor.name)).toEqual(["UnexpectedResponseError"]);
    expect(errors[0]?.message).toContain("expires_at");
    expect(lease.current().id).toBe(made.id);
    expect(sent("create_role")).toHaveLength(1);
    await lease.close();
  });
});

describe("printing under customInspect: false, as the README says", () => {
  it("masks the lease's roles in the lease itself, while a role handed out is the plain object it is", async () => {
    const { lease: open } = leaseWorld();
    const lease = await open();
    const { password } = lease.current();
    expect(inspect(lease, { customInspect: false, showHidden: true, getters: true, depth: null })).not.toContain(
      password,
    );
    expect(inspect(lease.current(), { customInspect: false })).toContain(password);
    expect(inspect(lease.current())).not.toContain(password);
    await lease.close();
  });
});

describe("an abort that lands as the first create answers", () => {
  it("does not wait for onChange: leaseRole rejects and the role is deleted", async () => {
    const { clock, fake, ps } = leaseWorld();
    const controller = new AbortController();
    // The abort comes after the create's answer is read, before the role is handed over.
    const client = {
      ...ps,
      createRole: (async (...args: Parameters<typeof ps.createRole>) => {
        const role = await ps.createRole(...args);
        controller.abort(new Error("shutting down"));
        return role;
      }) as typeof ps.createRole,
    };
    let handed = 0;
    const opening = failure(
      leaseRole({ client, clock, random: () => 0.5 }, API_ROLE, {
        signal: controller.signal,
        onChange: () => {
          handed++;
          return new Promise(() => {});
        },
      }),
    );
    await clock.advance(0);
    const error = await opening;
    expect(error.message).toBe("leaseRole was aborted while its first role was made; the role was deleted");
    expect(handed).toBe(0);
    expect(fake.roles()).toEqual([]);
  });
});
