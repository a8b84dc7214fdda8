// Shutting a lease down (close, keepRoles, its signal) and what a person sees when printing a
// lease, the roles it hands to onChange and the errors it reports: never a password.
import { format, inspect } from "node:util";
import { describe, expect, it } from "vitest";
import type { PlanetScaleError, Role } from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { leaseWorld, MINUTE } from "./support/lease.ts";

describe("lease.close()", () => {
  it("deletes both roles during a grace, stops every wait, and refuses to hand out credentials after", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const lease = await open({ rotateAfterMs: 15 * MINUTE });
    await clock.advance(15 * MINUTE);
    expect(fake.roles()).toHaveLength(2);
    await lease.close();
    expect(fake.roles()).toEqual([]);
    expect(clock.pending()).toBe(0);
    expect(() => lease.current()).toThrow(/lease of api is closed/);
    await expect(lease.fresh()).rejects.toThrow(/closed/);
    await expect(lease.rotate()).rejects.toThrow(/closed/);
    const requests = fake.requests.length;
    await clock.advance(24 * 60 * MINUTE);
    expect(fake.requests.length).toBe(requests);
  });

  it("keeps the roles with keepRoles, still stopping every wait", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const lease = await open({ rotateAfterMs: 15 * MINUTE });
    await clock.advance(15 * MINUTE);
    const alive = fake.roles().map((role) => role.id);
    await lease.close({ keepRoles: true });
    expect(fake.roles().map((role) => role.id)).toEqual(alive);
    expect(clock.pending()).toBe(0);
  });

  it("answers a second close with the first one's outcome, and refuses a bad keepRoles", async () => {
    const world = leaseWorld();
    const { lease: open } = world;
    const lease = await open();
    expect((await failure(lease.close({ keepRoles: "yes" } as never))).message).toContain(
      "keepRoles must be true or false",
    );
    expect(lease.current().id).toBeTypeOf("string");
    const { fake } = world;
    const [first, second] = await Promise.all([lease.close(), lease.close({ keepRoles: true })]);
    expect([first, second]).toEqual([undefined, undefined]);
    // The second close changed nothing: the first one's deletes stand.
    expect(fake.roles()).toEqual([]);
    expect(fake.requests.filter((request) => request.operation === "delete_role")).toHaveLength(1);
  });

  it("ends a renewal waiting between the client's retries: nothing is left pending", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const lease = await open({ onError: () => {} });
    fake.failNext("renew_role", { status: 503 });
    await clock.advance(390_000);
    // The client waits 250 to 500 ms before its retry.
    expect(clock.pending()).toBe(1);
    await lease.close();
    expect(clock.pending()).toBe(0);
    expect(fake.roles()).toEqual([]);
  });

  it("closes when its signal aborts, deleting its role", async () => {
    const { clock, fake, lease: open } = leaseWorld();
    const controller = new AbortController();
    const lease = await open({ signal: controller.signal });
    controller.abort();
    await clock.advance(0);
    expect(fake.roles()).toEqual([]);
    expect(clock.pending()).toBe(0);
    expect(() => lease.current()).toThrow(/closed/);
  });

  it("deletes a role whose create was under way when close began, though nobody was handed it", async () => {
    const { clock, fake, lease: open, edit } = leaseWorld();
    const lease = await open({ graceMs: 0 });
    const first = lease.current();
    let reached: () => void = () => {};
    let release: () => void = () => {};
    const atServer = new Promise<void>((resolve) => (reached = resolve));
    const held = new Promise<void>((resolve) => (release = resolve));
    edit("create_role", async (role) => {
      reached();
      await held;
      return role;
    });
    const rotating = lease.rotate();
    await atServer;
    const closing = lease.close({ keepRoles: true });
    release();
    await expect(rotating).rejects.toThrow(/closed/);
    await closing;
    expect(fake.roles().map((role) => role.id)).toEqual([first.id]);
    expect(clock.pending()).toBe(0);
  });
});

describe("what a lease shows", () => {
  it("never shows a password: the lease, onChange's roles, onError's errors and close's error, in every inspect mode", async () => {
    const { clock, fake, lease: open } = leaseWorld({ maxRetries: 0 });
    const handed: Role[] = [];
    const errors: PlanetScaleError[] = [];
    const lease = await open({
      rotateAfterMs: 15 * MINUTE,
      onChange: (next, previous) => {
        handed.push(next, ...(previous ? [previous] : []));
      },
      onError: (error) => errors.push(error),
    });
    fake.failNext("renew_role", { status: 500 });
    fake.failNext("delete_role", { status: 500 });
    fake.failNext("delete_role", { status: 500 });
    await clock.advance(16 * MINUTE);
    const passwords = fake.roles().map((role) => role.password);
    expect(passwords).toHaveLength(2);
    const closeError = await failure(lease.close());
    const shown = [lease, ...handed, ...errors, closeError].flatMap((value) => [
      inspect(value),
      inspect(value, { showHidden: true, getters: true, depth: 10 }),
      format("%o", value),
      value instanceof Error ? JSON.stringify(value) : "",
      String(value),
      value instanceof Error ? `${value.message}\n${value.stack}` : "",
    ]);
    expect(handed.length).toBeGreaterThanOrEqual(3);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    for (const text of shown) for (const password of passwords) expect(text).not.toContain(password);
    expect(inspect(handed[0])).toContain("password: '[redacted]'");
    expect(JSON.stringify(lease)).toBe("{}");
    // Without its custom inspect a lease shows its methods only: its state lives in a closure.
    for (const password of passwords) expect(inspect(lease, { customInspect: false })).not.toContain(password);
  });

  it("shows its name, the current role masked and whether it is closed", async () => {
    const { lease: open } = leaseWorld();
    const lease = await open();
    const { username, password } = lease.current();
    const shown = inspect(lease);
    expect(shown).toMatch(/^Lease \{/);
    expect(shown).toContain("name: 'api'");
    expect(shown).toContain(`username: '${username}'`);
    expect(shown).toContain("password: '[redacted]'");
    expect(shown).not.toContain(password);
    await lease.close();
    expect(inspect(lease)).toContain("closed: true");
  });

  it("prints a lease whose role carries an unknown field nested 5000 deep, the role masked", async () => {
    const { lease: open } = leaseWorld();
    const lease = await open();
    // The role the lease holds and shows (an answer this deep is proved to pass in redaction.test.ts).
    const nested = { extra: JSON.parse(`${"[".repeat(5000)}${"]".repeat(5000)}`), more: { token: "tkn-Deep-1" } };
    Object.assign(lease.current(), nested);
    const shown = inspect(lease);
    expect(shown).toContain("extra: [ [Array] ]");
    // The deepest level shown.
    expect(shown).toContain("more: { token: '[redacted]' }");
    expect(shown).toContain("password: '[redacted]'");
    expect(format("%o", lease)).toContain("password: '[redacted]'");
    expect(format("%o", lease)).not.toContain("tkn-Deep-1");
    await lease.close();
  });
});
