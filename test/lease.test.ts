// ps.leaseRole against the in-memory fake on a clock the test steers: renewal, make-before-break
// rotation, lazy freshness and shutdown, each checked at the moments it matters.
import { describe, expect, it } from "vitest";
import type { Role } from "../src/index.ts";
import { API_ROLE, DAY, leaseWorld, MINUTE, remaining } from "./support/lease.ts";

// API_ROLE's ttl is 600 s: renewBeforeMs defaults to 200 s, moved earlier by up to 20 s; the
// tests' random is 0.5, so each renewal comes 210 s before expires_at, 390 s after the last.
const RENEW_EVERY = 390_000;

describe("renewal", () => {
  it("keeps one role valid for a day on a 10-minute ttl: renewed every 390 s, never expired, one role alive", async () => {
    const { clock, fake, ps, sent } = leaseWorld();
    const start = clock.now();
    const lease = await ps.leaseRole(API_ROLE);
    const first = lease.current();
    expect(first.name).toMatch(/^api-[a-z0-9]{8}$/);
    while (clock.now() - start < DAY) {
      // 47 s steps land at every phase of the renewal cycle.
      await clock.advance(47_000);
      const role = lease.current();
      // Renewed with 200 to 220 s left (Math.random jitter, ps.leaseRole's own): never less.
      expect(remaining(clock, role)).toBeGreaterThanOrEqual(200_000);
      const [alive, ...others] = fake.roles();
      expect(others).toEqual([]);
      expect(alive).toMatchObject({ id: first.id, password: first.password, expired: false });
      expect(role.password).toBe(first.password);
    }
    // So one renewal every 380 to 400 s.
    expect(sent("renew_role").length).toBeGreaterThanOrEqual(Math.floor(DAY / 400_000));
    expect(sent("renew_role").length).toBeLessThanOrEqual(Math.ceil((clock.now() - start) / 380_000));
    await lease.close();
    expect(fake.roles()).toEqual([]);
    expect(clock.pending()).toBe(0);
  });

  it("renews 210 s before expires_at (random 0.5) and re-bases on the expires_at each answer carries", async () => {
    const { clock, lease: open, sent } = leaseWorld();
    const lease = await open();
    const made = clock.now();
    expect(remaining(clock, lease.current())).toBe(600_000);
    await clock.advance(RENEW_EVERY - 1);
    expect(sent("renew_role")).toHaveLength(0);
    await clock.advance(1);
    expect(sent("renew_role")).toHaveLength(1);
    expect(Date.parse(lease.current().expires_at ?? "")).toBe(made + RENEW_EVERY + 600_000);
    await clock.advance(RENEW_EVERY);
    expect(sent("renew_role")).toHaveLength(2);
    expect(remaining(clock, lease.current())).toBe(600_000);
    await lease.close();
  });

  it("keeps the create answer's password through renewals, whose answers carry none", async () => {
    const { clock, lease: open } = leaseWorld();
    const lease = await open();
    const { password, username } = lease.current();
    await clock.advance(3 * RENEW_EVERY);
    expect(lease.current()).toMatchObject({ password, username });
    expect(password).toMatch(/^pscale_pw_/);
    await lease.close();
  });

  it("waits only with { unref: true }, so an open lease keeps no process alive", async () => {
    const { clock, lease: open } = leaseWorld();
    const lease = await open({ rotateAfterMs: 15 * MINUTE });
    for (let step = 0; step < 40; step++) {
      await clock.advance(MINUTE);
      expect(clock.pending()).toBeGreaterThan(0);
      expect(clock.holding()).toBe(0);
    }
    await lease.close();
  });
});

describe("rotation, make before break", () => {
  it("rotates every 15 minutes for a day: at most two roles alive after any request, each deleted 60 s after its successor", async () => {
    const { clock, fake, mostAlive, lease: open, sent } = leaseWorld();
    const changes: [Role, Role | undefined][] = [];
    const lease = await open({
      rotateAfterMs: 15 * MINUTE,
      onChange: (next, previous) => changes.push([next, previous]),
    });
    const start = clock.now();
    while (clock.now() - start < DAY) {
      await clock.advance(30_000);
      expect(remaining(clock, lease.current())).toBeGreaterThan(0);
      expect(fake.roles().length).toBeLessThanOrEqual(2);
      expect(fake.roles().some((role) => role.id === lease.current().id && !role.expired)).toBe(true);
    }
    expect(mostAlive()).toBe(2);
    expect(changes).toHaveLength(1 + DAY / (15 * MINUTE));
    expect(changes[0]?.[1]).toBeUndefined();
    expect(changes[1]?.[1]?.id).toBe(changes[0]?.[0].id);
    // Every create carried the same params, under a name of its own.
    for (const request of sent("create_role")) {
      expect(request.body).toMatchObject({
        ttl: 600,
        inherited_roles: ["pg_read_all_data"],
        name: expect.stringMatching(/^api-/),
      });
    }
    await lease.close();
    expect(fake.roles()).toEqual([]);
    expect(clock.pending()).toBe(0);
  });

  it("starts the previous role's grace only once onChange has resolved, and deletes it graceMs later, successor the new role", async () => {
    const { clock, fake, lease: open, sent } = leaseWorld();
    let release: () => void = () => {};
    let calls = 0;
    const onChange = () => {
      calls++;
      // The first role is handed over at once; the rotation's hand-over takes 5 minutes.
      return calls === 1 ? undefined : new Promise<void>((resolve) => (release = resolve));
    };
    const lease = await open({ rotateAfterMs: 15 * MINUTE, graceMs: 60_000, onChange });
    const first = lease.current();
    await clock.advance(15 * MINUTE);
    expect(calls).toBe(2);
    const next = lease.current();
    expect(next.id).not.toBe(first.id);
    await clock.advance(5 * MINUTE);
    expect(fake.roles().map((role) => role.id)).toEqual([first.id, next.id]);
    release();
    await clock.advance(60_000 - 1);
    expect(fake.roles().map((role) => role.id)).toEqual([first.id, next.id]);
    await clock.advance(1);
    expect(fake.roles().map((role) => role.id)).toEqual([next.id]);
    expect(sent("delete_role").at(-1)?.query).toEqual({ successor: next.id });
    await lease.close();
  });

  it("renews the previous role during its grace when it would expire before the grace ends", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    // Renewed at 390 s, the first role expires at 990 s; rotated at 720 s, its grace lasts to 1020 s.
    const lease = await open({ rotateAfterMs: 12 * MINUTE, graceMs: 5 * MINUTE });
    const first = lease.current();
    await clock.advance(12 * MINUTE);
    await clock.advance(5 * MINUTE - 1);
    const previous = fake.roles().find((role) => role.id === first.id);
    expect(previous?.expired).toBe(false);
    await clock.advance(1);
    expect(fake.roles().find((role) => role.id === first.id)).toBeUndefined();
    await lease.close();
  });

  it("rotate() replaces now: a role in its grace is deleted first, so that two at most are alive", async () => {
    const { clock, fake, mostAlive, lease: open } = leaseWorld();
    const lease = await open({ graceMs: 10 * MINUTE });
    const first = lease.current();
    const second = await lease.rotate();
    expect(second.id).not.toBe(first.id);
    expect(lease.current()).toBe(second);
    expect(fake.roles().map((role) => role.id)).toEqual([first.id, second.id]);
    const third = await lease.rotate();
    expect(fake.roles().map((role) => role.id)).toEqual([second.id, third.id]);
    expect(mostAlive()).toBe(2);
    await clock.advance(10 * MINUTE);
    expect(fake.roles().map((role) => role.id)).toEqual([third.id]);
    await lease.close();
  });

  it("keeps the previous role when onChange throws, deletes the new one after its grace, tells onError, and rotates again later", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const errors: Error[] = [];
    let refuse = false;
    const onChange = () => {
      if (refuse) throw new Error("pool would not switch");
    };
    const lease = await open({ rotateAfterMs: 15 * MINUTE, onChange, onError: (error) => errors.push(error) });
    const first = lease.current();
    refuse = true;
    await clock.advance(15 * MINUTE);
    expect(lease.current().id).toBe(first.id);
    const refused = fake.roles().find((role) => role.id !== first.id);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringContaining("onChange failed (pool would not switch)"),
    ]);
    refuse = false;
    // The refused role lives out the default grace (60 s), longer than the retry's backoff (7.5 s);
    // the next rotation waits for its delete, so that two at most are alive.
    await clock.advance(60_000 - 1);
    expect(fake.roles().map((role) => role.id)).toEqual([first.id, refused?.id]);
    expect(lease.current().id).toBe(first.id);
    await clock.advance(1);
    expect(fake.roles().map((role) => role.id)).not.toContain(refused?.id);
    expect(lease.current().id).not.toBe(first.id);
    await lease.close();
  });
});
