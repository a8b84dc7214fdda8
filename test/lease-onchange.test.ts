// An onChange that takes its time, never settles, throws, or closes the lease: the lease goes on
// renewing what it holds, close() always ends and deletes what it made, and no moment is left
// without a working role.
import { describe, expect, it } from "vitest";
import type { PlanetScaleError } from "../src/index.ts";
import { API_ROLE, leaseWorld, MINUTE, remaining } from "./support/lease.ts";

// A 6-second role: renewed every 4 s (renewBeforeMs 2 000), rotated 3 s after it was made.
const SHORT_ROLE = { ...API_ROLE, ttl: 6 };
const HANG_MS = 10 * MINUTE;

const hangOnRotation = (_next: unknown, previous: unknown) => (previous ? new Promise<void>(() => {}) : undefined);

describe("an onChange that never settles", () => {
  it("goes on renewing both roles while it waits, gives up after 10 minutes (told to onError), then deletes the previous after its grace", async () => {
    const { clock, fake, mostAlive, lease: open } = leaseWorld();
    const errors: PlanetScaleError[] = [];
    const lease = await open(
      { rotateAfterMs: 3_000, graceMs: 100, onChange: hangOnRotation, onError: (error) => errors.push(error) },
      SHORT_ROLE,
    );
    const first = lease.current();
    await clock.advance(3_000);
    const next = lease.current();
    expect(next.id).not.toBe(first.id);
    for (let step = 0; step < (HANG_MS - 1_000) / 100; step++) {
      await clock.advance(100);
      expect(remaining(clock, lease.current())).toBeGreaterThan(0);
      // The role being switched from stays alive at the API too: onChange may still be draining it.
      expect(fake.roles().find((role) => role.id === first.id)?.expired).toBe(false);
    }
    expect(errors).toEqual([]);
    await clock.advance(1_000);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringContaining(`onChange has not settled 600000 ms after it was handed role ${next.name}`),
    ]);
    await clock.advance(100);
    // The first role is gone; the next rotation (long due) has begun, its onChange hanging too.
    expect(fake.roles().map((role) => role.id)).not.toContain(first.id);
    expect(fake.roles().map((role) => role.id)).toContain(next.id);
    expect(mostAlive()).toBe(2);
    await lease.close();
    expect(fake.roles()).toEqual([]);
  });

  it("does not hold close(): it resolves at once and deletes both roles", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const lease = await open({ rotateAfterMs: 15 * MINUTE, onChange: hangOnRotation });
    await clock.advance(15 * MINUTE);
    expect(fake.roles()).toHaveLength(2);
    let closed = false;
    const closing = lease.close().then(() => {
      closed = true;
    });
    await clock.advance(0);
    expect(closed).toBe(true);
    await closing;
    expect(fake.roles()).toEqual([]);
    expect(clock.pending()).toBe(0);
  });
});

describe("close() from onChange", () => {
  it("closes the lease: both roles are deleted, nothing more is sent, and nothing waits", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    let lease: Awaited<ReturnType<typeof open>> | undefined;
    let closing: Promise<void> | undefined;
    lease = await open({
      rotateAfterMs: 15 * MINUTE,
      onChange: (_next, previous) => {
        if (previous) closing = lease?.close();
        return closing;
      },
    });
    await clock.advance(15 * MINUTE);
    let closed = false;
    void closing?.then(() => {
      closed = true;
    });
    await clock.advance(0);
    expect(closed).toBe(true);
    expect(fake.roles()).toEqual([]);
    expect(clock.pending()).toBe(0);
    expect(() => lease?.current()).toThrow(/closed/);
    const sent = fake.requests.length;
    await clock.advance(60 * MINUTE);
    expect(fake.requests.length).toBe(sent);
  });
});

describe("an onChange that throws", () => {
  it("gives the role current() handed out during onChange its grace before deleting it, and goes back to the previous one", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const errors: PlanetScaleError[] = [];
    let refuse: (error: Error) => void = () => {};
    const lease = await open({
      rotateAfterMs: 15 * MINUTE,
      graceMs: 60_000,
      onChange: (_next, previous) =>
        previous ? new Promise<void>((_resolve, reject) => (refuse = reject)) : undefined,
      onError: (error) => errors.push(error),
    });
    const first = lease.current();
    await clock.advance(15 * MINUTE);
    // A request handler connecting now is handed the new role.
    const handedOut = lease.current();
    expect(handedOut.id).not.toBe(first.id);
    await clock.advance(500);
    refuse(new Error("new pool failed its health check"));
    await clock.advance(0);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringContaining("onChange failed (new pool failed its health check)"),
    ]);
    expect(lease.current().id).toBe(first.id);
    await clock.advance(60_000 - 1);
    expect(fake.roles().map((role) => role.id)).toEqual([first.id, handedOut.id]);
    await clock.advance(1);
    expect(fake.roles().map((role) => role.id)).not.toContain(handedOut.id);
    await lease.close();
  });
});

describe("two hand-overs at once", () => {
  it("counts an onChange still hanging after a replacement's own onChange has settled: rotate() stays refused", async () => {
    const { clock, fake, lease: open, sent } = leaseWorld({ maxRetries: 0 });
    let calls = 0;
    const lease = await open({
      rotateAfterMs: 15 * MINUTE,
      // The rotation's onChange hangs; the first role's and the replacement's settle at once.
      onChange: () => (++calls === 2 ? new Promise<void>(() => {}) : undefined),
      onError: () => {},
    });
    await clock.advance(15 * MINUTE);
    // Renewals fail from now on: under the safety margin the rotated-to role is replaced, within the 10 minutes.
    for (let fault = 0; fault < 200; fault++) fake.failNext("renew_role", { status: 503 });
    // The rotated-to role, made at 15 min, is under the margin 550 s later.
    await clock.advance(560_000);
    expect(calls).toBe(3);
    expect(sent("create_role")).toHaveLength(3);
    await expect(lease.rotate()).rejects.toThrow(/onChange has not settled/);
    expect(sent("create_role")).toHaveLength(3);
    await lease.close();
  });
});
