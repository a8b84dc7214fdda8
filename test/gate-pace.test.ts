// What a Pace does with what the server says outright (src/gate.ts): the budget rate-limit headers
// say remains, a policy it declares, the pace forgotten a minute on, and the pace as plain data
// (snapshot/restore) for a store that a fleet shares. What holds teach is gate.test.ts's.
import { describe, expect, it } from "vitest";
import { createRateLimiter, FORGET_PACE_MS, Pace, type PaceSnapshot } from "../src/gate.ts";
import { manualClock } from "./support/clock.ts";
import { waits } from "./support/pace.ts";

/** A limiter on a steered clock, and what each acquire returned: "now", or "wait" for a promise. */
function steeredLimiter() {
  const clock = manualClock();
  const limiter = createRateLimiter({ clock });
  const acquire = (count: number) =>
    Array.from({ length: count }, () => (limiter.acquire() === undefined ? "now" : "wait"));
  return { clock, limiter, acquire };
}

describe("what the headers said remains", () => {
  it("spends what remains at once, then holds every call until the reset, without meeting a 429", () => {
    const pace = new Pace();
    pace.accepted(0, { remaining: 2, resetMs: 1_500 });
    expect(waits(pace, 0, 4)).toEqual([0, 0, 1_500, 1_500]);
    expect(waits(pace, 1_500, 3)).toEqual([0, 0, 0]);
  });

  it("holds nobody once the reset has passed, however long after it the next call comes", () => {
    const pace = new Pace();
    pace.accepted(0, { remaining: 0, resetMs: 1_000 });
    expect(waits(pace, 2_500, 2)).toEqual([0, 0]);
  });

  it("ends at the reset for a process whose clock is a little behind too (a fleet shares one pace)", () => {
    const pace = new Pace();
    pace.accepted(0, { remaining: 0, resetMs: 1_000 });
    expect(waits(pace, 1_000, 1)).toEqual([0]);
    expect(waits(pace, 999, 2)).toEqual([0, 0]);
    // What a fleet shares says no reading (-1), as a fresh pace's does, not a count spent below it.
    expect(pace.snapshot().told).toBe(-1);
  });

  it("with what remains and its reset known, a policy does not pace the next window: it opens whole", () => {
    const pace = new Pace();
    pace.accepted(0, { remaining: 1, resetMs: 1_000, quota: 100, windowMs: 60_000 });
    expect(waits(pace, 0, 2)).toEqual([0, 1_000]);
    expect(waits(pace, 1_000, 100).every((wait) => wait === 0)).toBe(true);
  });

  it("takes a remaining without its reset for no reading: it says nothing of when, so nobody waits on it", () => {
    const pace = new Pace();
    pace.accepted(0, { remaining: 0 });
    expect(waits(pace, 0, 3)).toEqual([0, 0, 0]);
  });

  it("paces by the policy beside half a reading (a remaining without its reset, or a reset without its remaining)", () => {
    for (const half of [{ remaining: 0 }, { resetMs: 30_000 }]) {
      const pace = new Pace();
      pace.accepted(0, { ...half, quota: 2, windowMs: 1_000 });
      expect(waits(pace, 0, 3), JSON.stringify(half)).toEqual([0, 0, 500]);
    }
  });

  it("reads a 429's headers too: nothing goes before the reset they give, when it is later than the Retry-After", () => {
    const { clock, limiter, acquire } = steeredLimiter();
    limiter.limited(1_000, new Headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "5" }));
    expect(acquire(1)).toEqual(["wait"]);
    expect(clock.waits).toEqual([5_000]);
  });
});

describe("a policy the server declares", () => {
  it("sets the burst and the rate", () => {
    const pace = new Pace();
    pace.accepted(0, { quota: 10, windowMs: 1_000 });
    const slots = waits(pace, 0, 12);
    expect(slots.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(slots[10]).toBeCloseTo(100, 5);
    expect(slots[11]).toBeCloseTo(200, 5);
  });

  it("is the pace from the very answer that declared it, not a tenth faster", () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ clock });
    limiter.accepted(new Headers({ "ratelimit-policy": "10;w=1" }));
    for (let i = 0; i < 11; i++) limiter.acquire();
    expect(clock.waits).toEqual([100]);
  });

  it("stays at the rate declared through quiet seconds: what the server said is never raised", () => {
    const pace = new Pace();
    pace.accepted(0, { quota: 10, windowMs: 1_000 });
    for (const quietAfter of [1_001, 2_002, 5_000]) pace.accepted(quietAfter);
    pace.accepted(5_000, { quota: 10, windowMs: 1_000 });
    expect(pace.rate).toBe(10 / 1_000);
    expect(waits(pace, 5_000, 11)).toEqual([...Array(10).fill(0), 100]);
  });

  /** A policy of 20 a second declared at 0, then 60 more accepted by a 429 at 400, held until 1400. */
  const heldAfterPolicy = () => {
    const pace = new Pace();
    pace.accepted(0, { quota: 20, windowMs: 1_000 });
    waits(pace, 0, 1);
    for (let i = 0; i < 60; i++) pace.accepted(100);
    pace.limited(400, 1_000);
    return pace;
  };

  it("gives way to what a hold teaches, as a first hold teaches: the policy's lesson saw no interval to pair with", () => {
    const pace = heldAfterPolicy();
    // 61 got through by the 429 at 400 (the answer that declared the policy, and 60), held until
    // 1400: the pace opens on nine tenths of them and probes upward from them over the hold, as
    // after any first hold (paired with the policy's empty interval, it took them all for refill and
    // opened on 1).
    expect([pace.burst, pace.rate, pace.measured]).toEqual([54, 61 / 1_000, false]);
    expect(pace.snapshot().known?.ceiling).toBe(61);
  });

  it("gives way to what holds teach: a rate measured after it is raised after a quiet stretch, as any measured rate", () => {
    const pace = heldAfterPolicy();
    for (let i = 0; i < 100; i++) pace.accepted(1_500);
    // Held until 2800; a quiet stretch is then 2 s.
    pace.limited(1_800, 1_000);
    const measured = pace.rate;
    expect(pace.measured).toBe(true);
    pace.accepted(4_800);
    expect(pace.rate).toBe(measured);
    pace.accepted(4_801);
    expect(pace.rate).toBe(measured * 1.1);
  });

  it("is not taken afresh from every answer that repeats it: the budget it gave is not filled again", () => {
    const { clock, limiter, acquire } = steeredLimiter();
    const policy = new Headers({ "ratelimit-policy": "2;w=1" });
    limiter.accepted(policy);
    const first = acquire(2);
    limiter.accepted(policy);
    limiter.accepted(policy);
    expect([...first, ...acquire(1)]).toEqual(["now", "now", "wait"]);
    expect(clock.waits).toEqual([500]);
  });

  it("is no policy with a quota and no window, or a window and no quota, or neither: the next whole one sets the pace", () => {
    for (const partial of [{ quota: 10 }, { windowMs: 1_000 }, {}]) {
      const pace = new Pace();
      pace.accepted(0, partial);
      expect(waits(pace, 0, 3), JSON.stringify(partial)).toEqual([0, 0, 0]);
      pace.accepted(0, { quota: 2, windowMs: 1_000 });
      expect(waits(pace, 0, 3), JSON.stringify(partial)).toEqual([0, 0, 500]);
    }
  });

  it("is what the pace knows: the quota at once and after any hold, then the quota over the window, measured", () => {
    const pace = new Pace();
    pace.accepted(0, { quota: 2, windowMs: 1_000 });
    expect(pace.snapshot().known).toMatchObject({
      rate: 0.002,
      burst: 2,
      ceiling: 2,
      ceilingHoldMs: Number.POSITIVE_INFINITY,
      wholeAfterMs: 0,
      measured: true,
      seen: { accepted: 0, heldMs: 0, sendingMs: 0, retryAfterMs: 0 },
    });
  });
});

describe("forgetting the pace", () => {
  it("keeps a declared pace for a minute after the policy was last heard, and forgets it the millisecond after", () => {
    const pace = new Pace();
    pace.accepted(0, { quota: 1, windowMs: 1_000 });
    expect(waits(pace, 0, 1)).toEqual([0]);
    expect(waits(pace, FORGET_PACE_MS, 2)).toEqual([0, 1_000]);
    expect(waits(pace, FORGET_PACE_MS + 1, 2)).toEqual([0, 0]);
  });

  it("keeps the pace a minute more from each answer that repeats the policy", () => {
    const pace = new Pace();
    pace.accepted(0, { quota: 1, windowMs: 1_000 });
    pace.accepted(30_000, { quota: 1, windowMs: 1_000 });
    expect(waits(pace, FORGET_PACE_MS + 1, 2)).toEqual([0, 1_000]);
  });

  it("learns afresh once forgotten: the next policy declared sets the pace", () => {
    const pace = new Pace();
    pace.accepted(0, { quota: 10, windowMs: 1_000 });
    expect(waits(pace, FORGET_PACE_MS + 1, 1)).toEqual([0]);
    pace.accepted(FORGET_PACE_MS + 1, { quota: 1, windowMs: 10_000 });
    expect(waits(pace, FORGET_PACE_MS + 1, 2)).toEqual([0, 10_000]);
  });
});

/** A pace that knows something of each kind: a declared policy, a hold, and what the headers said remains. */
function busyPace(): Pace {
  const pace = new Pace();
  pace.accepted(0, { quota: 20, windowMs: 1_000 });
  waits(pace, 0, 25);
  for (let i = 0; i < 12; i++) pace.accepted(10);
  pace.limited(100, 400);
  pace.accepted(450, { remaining: 3, resetMs: 2_000 });
  return pace;
}

const without = (record: object, field: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(record).filter(([key]) => key !== field));

/** The fields of `record` whose absence, or whose value set to each of `values`, `restore` still accepts. */
function tolerated(record: object, values: unknown[], restoreWith: (record: Record<string, unknown>) => unknown) {
  return Object.keys(record).filter(
    (field) =>
      Pace.restore(restoreWith(without(record, field))) !== undefined ||
      values.some((value) => Pace.restore(restoreWith({ ...record, [field]: value })) !== undefined),
  );
}

describe("the pace as plain data", () => {
  it("starts as a pace that has seen nothing: no reading told, no interval begun, nothing known", () => {
    expect(new Pace().snapshot()).toMatchObject({
      pausedUntil: 0,
      rate: 0,
      holds: 0,
      measured: false,
      declared: false,
      told: -1,
      holdStart: -1,
      holdEnd: -1,
      known: null,
    });
  });

  it("comes back from a snapshot as it was: it knows what it knew and waits as the original waits", () => {
    const original = busyPace();
    const restored = Pace.restore(structuredClone(original.snapshot())) as Pace;
    expect(restored).toBeInstanceOf(Pace);
    expect(restored.snapshot()).toEqual(original.snapshot());
    expect(restored.snapshot().known).not.toBeNull();
    // Held until 500 by the 429; what comes after is the original's to say.
    const ahead = waits(restored, 450, 6);
    expect(ahead[0]).toBeGreaterThanOrEqual(50);
    expect(ahead).toEqual(waits(original, 450, 6));
    for (const pace of [original, restored]) pace.limited(3_000, 1_000);
    expect(restored.snapshot()).toEqual(original.snapshot());
  });

  it("comes back from a fresh pace's snapshot (nothing known), and from one whose ceiling no hold has bounded (∞)", () => {
    expect(Pace.restore(new Pace().snapshot())?.snapshot()).toEqual(new Pace().snapshot());
    const declared = new Pace();
    declared.accepted(0, { quota: 2, windowMs: 1_000 });
    expect(Pace.restore(declared.snapshot())?.snapshot().known?.ceilingHoldMs).toBe(Number.POSITIVE_INFINITY);
  });

  it("is refused when it is not an object", () => {
    for (const value of [null, undefined, 5, "pace", true]) expect(Pace.restore(value), String(value)).toBeUndefined();
  });

  it("is refused when any field is missing, a number is not one (or NaN), or measured or declared is not a boolean", () => {
    const snapshot = busyPace().snapshot();
    const { known, ...fields } = snapshot;
    // All but the fields added since, which a pace kept by an older version lacks (the next test).
    const added = ["renewed", "firstCount", "firstSendingMs", "refused", "overshot"];
    expect(tolerated(fields, ["5", Number.NaN, null], (record) => ({ ...record, known }))).toEqual(added);
    for (const field of added) {
      for (const value of ["5", Number.NaN, null])
        expect(Pace.restore({ ...snapshot, [field]: value })).toBeUndefined();
    }
  });

  it("comes back from a snapshot an older version kept, without the fields added since, as one that counted none", () => {
    const snapshot = {
      ...busyPace().snapshot(),
      renewed: 3,
      firstCount: 4,
      firstSendingMs: 5,
      refused: 6,
      overshot: 1,
    };
    const older = without(
      without(without(without(without(snapshot, "renewed"), "firstCount"), "firstSendingMs"), "refused"),
      "overshot",
    );
    expect(Pace.restore(older)?.snapshot()).toEqual({
      ...snapshot,
      ...{ renewed: 0, firstCount: 0, firstSendingMs: 0, refused: 0, overshot: 0 },
    });
    // The version before `renewed` lacked only that.
    expect(Pace.restore(without(snapshot, "renewed"))?.snapshot()).toEqual({ ...snapshot, renewed: 0 });
  });

  it("is refused when what it knows is incomplete: a field of it or of the interval it was learned from", () => {
    const snapshot = busyPace().snapshot();
    const known = snapshot.known as NonNullable<PaceSnapshot["known"]>;
    const restoreKnowing = (record: Record<string, unknown>) => ({ ...snapshot, known: record });
    expect(tolerated(known, ["5", Number.NaN, null], restoreKnowing)).toEqual([]);
    const { seen } = known;
    expect(tolerated(seen, ["5", Number.NaN, null], (record) => restoreKnowing({ ...known, seen: record }))).toEqual(
      [],
    );
    for (const value of [undefined, 5, "known"]) expect(Pace.restore({ ...snapshot, known: value })).toBeUndefined();
  });
});
