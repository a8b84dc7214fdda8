// The lease's timing rule as pure functions: renew point and its jitter bounds, backoff and its
// bounds, the safety margin, and which work is due when.
import { describe, expect, it } from "vitest";
import {
  defaultRenewBeforeMs,
  dueWork,
  type LeaseTimes,
  renewPoint,
  replaceAt,
  replaceRetryPoint,
  retryPoint,
  safetyMarginMs,
  wakeAt,
} from "../src/lease/timing.ts";

const T = 1_000_000_000_000;
const lowest = () => 0;
// Math.random never returns 1; this is as close as it gets.
const highest = () => 1 - Number.EPSILON;

function times(overrides: Partial<LeaseTimes> = {}, current: Partial<LeaseTimes["current"]> = {}): LeaseTimes {
  return {
    current: { expiresAt: T + 600_000, renewAt: T + 390_000, rotateAt: undefined, ...current },
    previous: undefined,
    replaceRetryAt: 0,
    marginMs: 50_000,
    ...overrides,
  };
}

describe("the renew point", () => {
  it("defaults renewBeforeMs to a third of the ttl, and the safety margin to a quarter of that", () => {
    expect(defaultRenewBeforeMs(600)).toBe(200_000);
    expect(defaultRenewBeforeMs(3600)).toBe(1_200_000);
    expect(safetyMarginMs(200_000)).toBe(50_000);
    expect(safetyMarginMs(1_200_000)).toBe(300_000);
  });

  it("lies from 1.1 × renewBeforeMs to exactly renewBeforeMs before expiry, never later", () => {
    expect(renewPoint(T, 200_000, lowest)).toBe(T - 200_000);
    expect(renewPoint(T, 200_000, () => 0.5)).toBe(T - 210_000);
    expect(renewPoint(T, 200_000, highest)).toBe(T - 220_000);
  });
});

describe("the retry point after a failure", () => {
  it("backs off from 5-10 s, doubling, to 150-300 s at most", () => {
    expect(retryPoint(T, 1, Number.POSITIVE_INFINITY, lowest)).toBe(T + 5_000);
    expect(retryPoint(T, 1, Number.POSITIVE_INFINITY, highest)).toBe(T + 10_000);
    expect(retryPoint(T, 2, Number.POSITIVE_INFINITY, lowest)).toBe(T + 10_000);
    expect(retryPoint(T, 5, Number.POSITIVE_INFINITY, highest)).toBe(T + 160_000);
    expect(retryPoint(T, 6, Number.POSITIVE_INFINITY, lowest)).toBe(T + 150_000);
    expect(retryPoint(T, 40, Number.POSITIVE_INFINITY, highest)).toBe(T + 300_000);
  });

  it("waits at least the server's Retry-After, but never past the deadline, nor before now", () => {
    expect(retryPoint(T, 1, Number.POSITIVE_INFINITY, lowest, 120_000)).toBe(T + 120_000);
    expect(retryPoint(T, 1, Number.POSITIVE_INFINITY, lowest, 1_000)).toBe(T + 5_000);
    expect(retryPoint(T, 1, T + 3_000, highest)).toBe(T + 3_000);
    expect(retryPoint(T, 1, T + 60_000, lowest, 120_000)).toBe(T + 60_000);
    expect(retryPoint(T, 1, T - 1, lowest)).toBe(T);
  });
});

describe("the retry point after a failed replacement", () => {
  it("is the plain backoff, a step of it spent, while half the time left is longer, or the role never expires", () => {
    expect(replaceRetryPoint(T, 1, T + 20_000, highest)).toEqual({ at: T + 10_000, spent: true });
    expect(replaceRetryPoint(T, 2, undefined, lowest)).toEqual({ at: T + 10_000, spent: true });
  });

  it("comes after half the time left when the backoff is longer, spending no step of it", () => {
    expect(replaceRetryPoint(T, 1, T + 5_000, lowest)).toEqual({ at: T + 2_500, spent: false });
    expect(replaceRetryPoint(T, 1, T + 13_751, highest)).toEqual({ at: T + 6_875, spent: false });
    expect(replaceRetryPoint(T, 1, T + 60_000, lowest, 120_000)).toEqual({ at: T + 30_000, spent: false });
  });

  it("is at the expiry once half the time left is under a second, and the plain backoff once it is past", () => {
    expect(replaceRetryPoint(T, 1, T + 2_000, lowest)).toEqual({ at: T + 1_000, spent: false });
    expect(replaceRetryPoint(T, 1, T + 1_999, lowest)).toEqual({ at: T + 1_999, spent: false });
    expect(replaceRetryPoint(T, 1, T + 1, lowest)).toEqual({ at: T + 1, spent: false });
    expect(replaceRetryPoint(T, 1, T, lowest)).toEqual({ at: T + 5_000, spent: true });
    expect(replaceRetryPoint(T, 3, T - 60_000, lowest, 30_000)).toEqual({ at: T + 30_000, spent: true });
  });
});

describe("what is due", () => {
  it("renews at the renew point, and nothing before", () => {
    expect(dueWork(times(), T + 389_999)).toEqual([]);
    expect(dueWork(times(), T + 390_000)).toEqual(["renew"]);
    expect(wakeAt(times(), T)).toBe(T + 390_000);
  });

  it("replaces instead of renewing under the safety margin", () => {
    const failing = times({}, { renewAt: T + 560_000 });
    expect(replaceAt(failing)).toBe(T + 550_000);
    expect(dueWork(failing, T + 549_999)).toEqual([]);
    expect(dueWork(failing, T + 550_000)).toEqual(["replace"]);
    expect(wakeAt(failing, T)).toBe(T + 550_000);
  });

  it("renews no more past the replace point, even while a failed replacement waits for its retry", () => {
    const waiting = times({ replaceRetryAt: T + 560_000 });
    expect(dueWork(waiting, T + 549_999)).toEqual(["renew"]);
    expect(dueWork(waiting, T + 555_000)).toEqual([]);
    expect(wakeAt(waiting, T + 555_000)).toBe(T + 560_000);
    expect(dueWork(waiting, T + 560_000)).toEqual(["replace"]);
  });

  it("rotates at rotateAt, but not before the previous role's delete, and not before a failed replacement's retry", () => {
    expect(replaceAt(times({}, { rotateAt: T + 100_000 }))).toBe(T + 100_000);
    const previous = { expiresAt: T + 300_000, renewAt: T + 290_000, deleteAt: T + 120_000 };
    expect(replaceAt(times({ previous }, { rotateAt: T + 100_000 }))).toBe(T + 120_000);
    expect(replaceAt(times({ replaceRetryAt: T + 130_000 }, { rotateAt: T + 100_000 }))).toBe(T + 130_000);
    expect(dueWork(times({ previous }, { rotateAt: T + 100_000 }), T + 120_000)).toEqual([
      "delete-previous",
      "replace",
    ]);
  });

  it("renews the previous role only while its grace lasts", () => {
    const previous = { expiresAt: T + 100_000, renewAt: T + 60_000, deleteAt: T + 90_000 };
    expect(dueWork(times({ previous }), T + 60_000)).toEqual(["renew-previous"]);
    expect(wakeAt(times({ previous }), T)).toBe(T + 60_000);
    const late = { ...previous, renewAt: T + 95_000 };
    expect(wakeAt(times({ previous: late }), T)).toBe(T + 90_000);
    expect(dueWork(times({ previous: late }), T + 95_000)).toEqual(["delete-previous"]);
  });

  it("has nothing due, ever, for a role that never expires and is never rotated", () => {
    const forever = times({}, { expiresAt: undefined, renewAt: undefined });
    expect(wakeAt(forever, T)).toBe(Number.POSITIVE_INFINITY);
    expect(dueWork(forever, T + 10 ** 12)).toEqual([]);
  });
});
