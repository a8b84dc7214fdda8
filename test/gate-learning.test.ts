// The rate learning (the model at the top of src/gate.ts), rule by rule on exact numbers: what
// learnFromHold takes from each interval between two holds, at and just past each edge of its
// rules, and what a Pace does with the times it is given. The numbers are the learning's as tuned
// today: a retune changes them here, on purpose.
import { describe, expect, it } from "vitest";
import {
  FORGET_PACE_MS,
  type HoldSeen,
  LEARNING_SAMPLE,
  type Learned,
  learnFromHold,
  Pace,
  RATE_MARGIN,
} from "../src/gate.ts";
import { afterFirstHold, waits } from "./support/pace.ts";

const INFINITE = Number.POSITIVE_INFINITY;

/** What an interval between two holds showed: `accepted` answers, after a hold of `heldMs`, in `sendingMs`. */
const interval = (accepted: number, heldMs: number, sendingMs: number, retryAfterMs = 1_000): HoldSeen => ({
  accepted,
  heldMs,
  sendingMs,
  retryAfterMs,
});

/** What earlier holds taught: a first hold's lesson (20 at once, then a 1 s hold) but for `fields`. */
function knowing(fields: Omit<Partial<Learned>, "seen"> & { seen?: Partial<HoldSeen> } = {}): Learned {
  const { seen, ...lesson } = fields;
  return {
    ...{ rate: 0.02, burst: 20, ceiling: 20, ceilingHoldMs: INFINITE, wholeAfterMs: 0, measured: false },
    ...lesson,
    seen: { ...interval(20, 0, 10), ...seen },
  };
}

describe("how many answers teach", () => {
  it("learns from LEARNING_SAMPLE answers, and nothing from one fewer, first hold or later", () => {
    const seen = interval(LEARNING_SAMPLE, 0, 10);
    expect(learnFromHold(seen, undefined)).toEqual({
      // The pace opens on nine tenths of a first count that teaches: it held refill too.
      ...{ rate: LEARNING_SAMPLE / 1_000, burst: Math.floor(0.9 * LEARNING_SAMPLE), ceiling: LEARNING_SAMPLE },
      ...{ ceilingHoldMs: INFINITE, wholeAfterMs: 0, measured: false, seen },
    });
    expect(learnFromHold(interval(LEARNING_SAMPLE - 1, 0, 10), undefined)).toBeUndefined();
    // (An opening of 10 that got 9 through did not overshoot: nine tenths of it.)
    expect(learnFromHold(interval(LEARNING_SAMPLE - 1, 1_000, 400), knowing({ burst: 10 }))).toBeUndefined();
  });

  it("teaches from fewer only that the opening overshot: short of nine tenths of it, it is cut to nine tenths of what got through", () => {
    // A bucket of 5 behind 1 s holds, opened on 20 after a first count that a slow start filled:
    // left so, every hold would open on 20, get 5 through and meet the next 429 at once.
    const known = knowing();
    expect(learnFromHold(interval(5, 1_000, 20), known)).toEqual({ ...known, burst: 4 });
    expect(learnFromHold(interval(LEARNING_SAMPLE - 1, 1_000, 20), known)).toEqual({ ...known, burst: 8 });
    expect(learnFromHold(interval(1, 1_000, 20), known)).toEqual({ ...known, burst: 1 });
    expect(learnFromHold(interval(0, 1_000, 20), known)).toBeUndefined();
  });
});

describe("two holds as long give back as much", () => {
  // 30 got through after a 950 ms hold in 100 ms; the ceiling (25) says what a hold gave back.
  const known = knowing({ burst: 25, ceiling: 25, seen: { accepted: 30, heldMs: 950, sendingMs: 100 } });

  it("holds up to 5% apart are as long: LEARNING_SAMPLE more in 100 ms more is the refill", () => {
    const seen = interval(40, 1_000, 200);
    // 40 less what 200 ms of a refill of 0.1/ms made: a 1 s hold gave back 20.
    expect(learnFromHold(seen, known)).toEqual({
      ...known,
      ...{ rate: (10 / 100) * RATE_MARGIN, burst: 18, ceiling: 20, ceilingHoldMs: 1_000, measured: true, seen },
    });
  });

  it("measure nothing when their sending differs by less than a tenth of the hold: two openings met at once differ by stragglers", () => {
    // A fleet opened on 26 twice after 1 s holds and met a 429 at once each time: 26 in 78 ms, then
    // 16 in 51 ms. The 10 fewer in 27 ms less are no refill of 370/s: the hold gave back 16.
    const opened = knowing({ burst: 26, ceiling: 29, seen: { accepted: 26, heldMs: 1_015, sendingMs: 78 } });
    const learned = learnFromHold(interval(16, 1_001, 51), opened);
    expect(learned).toMatchObject({ burst: 14, measured: false });
    // A tenth of the hold longer, the same two holds measure the refill: 10 more in 100 ms longer.
    expect(learnFromHold(interval(36, 1_000, 178), opened)).toMatchObject({ measured: true, rate: 0.1 * RATE_MARGIN });
    expect(learnFromHold(interval(36, 1_000, 177), opened)).toMatchObject({ measured: false });
  });

  it("holds just over 5% apart are not: the rate comes from what got beyond the ceiling instead", () => {
    const learned = learnFromHold(interval(40, 1_001, 200), known);
    expect(learned).toMatchObject({ rate: (15 / 200) * RATE_MARGIN, burst: 22, ceiling: 25, measured: true });
    expect(learned?.ceilingHoldMs).toBe(INFINITE);
  });

  it("one fewer than LEARNING_SAMPLE more tells no refill: that much is jitter", () => {
    const learned = learnFromHold(interval(39, 1_000, 200), known);
    expect(learned).toMatchObject({ rate: (14 / 200) * RATE_MARGIN, ceiling: 25, ceilingHoldMs: INFINITE });
  });

  it("tells no refill when the sending took as long (0 ms more), or when more got through in less time", () => {
    const asLong = learnFromHold(interval(40, 1_000, 100), known);
    expect(asLong).toMatchObject({ rate: (15 / 100) * RATE_MARGIN, ceiling: 25, ceilingHoldMs: INFINITE });
    const sooner = learnFromHold(interval(40, 1_000, 50), known);
    expect(sooner).toMatchObject({ rate: (15 / 50) * RATE_MARGIN, ceiling: 25, ceilingHoldMs: INFINITE });
  });
});

describe("the first interval, from a full budget, against one after a hold", () => {
  // 26 got through from a full budget in the 64 ms from the first answer to the first 429: a bucket
  // of 20 whose refill made 6 while they went, as a cold process's spread-out first burst meets it.
  const known = knowing({ burst: 16, ceiling: 26, seen: { accepted: 26, heldMs: 0, sendingMs: 64 } });

  it("what the later interval got beyond it, over the time it sent longer, is the refill: both began with a whole budget", () => {
    // The 26 came at once (in 4 ms); then 30 more in 300 ms more: 0.1/ms; a 1030 ms hold gave back
    // 56 less 304 ms of it, 25.6, and the pace opens on nine tenths of that.
    const atOnce = knowing({ ...known, seen: { ...known.seen, sendingMs: 4 } });
    const seen = interval(56, 1_030, 304);
    expect(learnFromHold(seen, atOnce)).toEqual({
      ...atOnce,
      ...{ rate: 0.1 * RATE_MARGIN, burst: 23, ceiling: 56 - 0.1 * 304, ceilingHoldMs: 1_030, measured: true, seen },
    });
  });

  it("is at most what got beyond the opening the hold's answers gave, over the sending: the first interval's start is dated only by its first answer", () => {
    // Opened on 25: 31 beyond it in 304 ms, 0.102/ms, under the 0.125/ms that 30 more in 240 ms more say.
    const learned = learnFromHold(interval(56, 1_030, 304), { ...known, burst: 25 });
    expect(learned).toMatchObject({ rate: (31 / 304) * RATE_MARGIN, burst: 22, ceilingHoldMs: 1_030, measured: true });
    expect(learned?.ceiling).toBeCloseTo(25, 9);
  });

  it("measures nothing from fewer after the hold: the hold may have given back less than the full budget", () => {
    // 15 fewer in 54 ms less would say 0.28/ms, were the hold to have refilled the budget whole.
    const learned = learnFromHold(interval(11, 1_030, 10), known);
    expect(learned).toMatchObject({ measured: false, rate: 11 / 1_040 });
  });
});

describe("holds of unlike lengths that agree on the rate", () => {
  // 40 got through in the 1 s of an 800 ms hold and 200 ms of sending: 0.04/ms.
  const known = knowing({ burst: 60, ceiling: 60, seen: { accepted: 40, heldMs: 800, sendingMs: 200 } });

  it("measure it when 20% apart: neither hold filled the budget, so all came at the rate", () => {
    const seen = interval(48, 1_000, 200);
    expect(learnFromHold(seen, known)).toEqual({ ...known, rate: 0.04 * RATE_MARGIN, measured: true, seen });
  });

  it("measure nothing when 18% apart: holds that near in length may each have given a burst", () => {
    const last = { accepted: 40, heldMs: 820, sendingMs: 180 };
    const learned = learnFromHold(interval(48, 1_000, 200), knowing({ burst: 60, ceiling: 60, seen: last }));
    expect(learned).toMatchObject({ rate: 0.04, measured: false });
  });

  it("measure nothing against the interval before the first hold: it came from a full budget", () => {
    const last = { accepted: 40, heldMs: 0, sendingMs: 1_000 };
    const learned = learnFromHold(interval(48, 1_000, 200), knowing({ burst: 60, ceiling: 60, seen: last }));
    expect(learned).toMatchObject({ rate: 0.04, measured: false });
  });

  it("agree within a tenth of the rate, and not just past it", () => {
    // 13 in 450 ms against 26 in 1 s: exactly a tenth apart.
    const last = { accepted: 26, heldMs: 800, sendingMs: 200 };
    const earlier = knowing({ burst: 60, ceiling: 60, seen: last });
    expect(learnFromHold(interval(13, 400, 50), earlier)).toMatchObject({
      rate: (13 / 450) * RATE_MARGIN,
      measured: true,
    });
    expect(learnFromHold(interval(13, 400, 49), earlier)).toMatchObject({ rate: 13 / 449, measured: false });
  });

  it("measure nothing when as many got through as a hold ever gave back: that may have been a burst", () => {
    const atCeiling = knowing({ burst: 48, ceiling: 48, seen: { accepted: 40, heldMs: 800, sendingMs: 200 } });
    expect(learnFromHold(interval(48, 1_000, 200), atCeiling)).toMatchObject({ rate: 0.04, measured: false });
  });
});

describe("more than a hold can give back", () => {
  // A 1 s hold gave back at most 20.
  const known = knowing({ ceiling: 20, ceilingHoldMs: 1_000 });

  it("came at the rate: LEARNING_SAMPLE beyond the ceiling, after a hold as long as the ceiling's", () => {
    const seen = interval(30, 1_000, 200);
    // The pace opens a little short of the ceiling: 18.
    expect(learnFromHold(seen, known)).toEqual({
      ...known,
      ...{ rate: (10 / 200) * RATE_MARGIN, burst: 18, measured: true, seen },
    });
  });

  it("tells no rate one short of LEARNING_SAMPLE beyond, after a longer hold, or with nothing sent since the hold", () => {
    expect(learnFromHold(interval(29, 1_000, 200), known)).toMatchObject({ rate: 29 / 1_200, measured: false });
    expect(learnFromHold(interval(30, 1_001, 200), known)).toMatchObject({ rate: 30 / 1_201, measured: false });
    expect(learnFromHold(interval(30, 1_000, 0), known)).toMatchObject({ rate: 30 / 1_000, measured: false });
  });
});

describe("what a hold bounds when it measures nothing", () => {
  it("fewer than the ceiling bound what a hold this long gives back; the ceiling's hold stays the shorter", () => {
    const known = knowing({ ceiling: 40, ceilingHoldMs: 500 });
    const seen = interval(30, 1_000, 100);
    // LEARNING_SAMPLE past the burst the pace opened on (20): all 30 came back, whatever the refill.
    expect(learnFromHold(seen, known)).toEqual({
      ...{ rate: 30 / 1_100, burst: 30, ceiling: 30, ceilingHoldMs: 500, wholeAfterMs: 0, measured: false },
      seen,
    });
    // One short of that, the burst is what got through less twice the refill the rate seen made.
    expect(learnFromHold(interval(29, 1_000, 100), known)?.burst).toBe(Math.floor(29 - 2 * (29 / 1_100) * 100));
  });

  it("a hold shorter than any that bounded it is bounded by what got through, however many; the burst stays the ceiling", () => {
    const known = knowing({ ceiling: 30, ceilingHoldMs: 2_000 });
    const learned = learnFromHold(interval(35, 1_000, 100), known);
    expect(learned).toMatchObject({ burst: 30, ceiling: 35, ceilingHoldMs: 1_000, measured: false });
  });

  it("a hold as long as the ceiling's, with more than the ceiling through, leaves the bound as it was", () => {
    const known = knowing({ ceiling: 30, ceilingHoldMs: 1_000 });
    const learned = learnFromHold(interval(35, 1_000, 100), known);
    expect(learned).toMatchObject({ ceiling: 30, ceilingHoldMs: 1_000, measured: false });
  });

  it("short of nine tenths of the burst the pace opened on, a hold this long gives back only nine tenths of what got through", () => {
    const known = knowing({ burst: 50, ceiling: 60 });
    // Exactly nine tenths is not short: the burst is what got through less the refill.
    const atNineTenths = learnFromHold(interval(45, 1_000, 100), known);
    expect(atNineTenths).toMatchObject({ burst: Math.floor(45 - 2 * (45 / 1_100) * 100), wholeAfterMs: 0 });
    // What got through held some refill too: opening on all of it would overshoot again, a hold each time.
    expect(learnFromHold(interval(44, 1_000, 100), known)).toMatchObject({ burst: 39, wholeAfterMs: 1_000 });
  });

  it("a measured rate stands; the burst is what got through less what that rate (before its margin) refilled", () => {
    const known = knowing({ rate: 0.19, burst: 25, ceiling: 40, measured: true });
    const seen = interval(30, 1_000, 53);
    // 30 less 53 ms at 0.2/ms.
    expect(learnFromHold(seen, known)).toEqual({ ...known, burst: 19, ceiling: 30, ceilingHoldMs: 1_000, seen });
  });

  it("a measured rate stands while it leaves one of the burst; when it leaves none, it was too high: a lower bound", () => {
    const known = knowing({ rate: 0.125 * RATE_MARGIN, burst: 5, measured: true });
    // 80 ms at 0.125/ms refilled 10: 11 leaves one, 10 leaves none.
    expect(learnFromHold(interval(11, 1_000, 80), known)).toMatchObject({ rate: known.rate, burst: 1, measured: true });
    expect(learnFromHold(interval(10, 1_000, 80), known)).toMatchObject({
      rate: 10 / 1_080,
      burst: 1,
      measured: false,
    });
  });
});

describe("the interval a pace learns from", () => {
  const learnedFrom = (pace: Pace) => pace.snapshot().known?.seen;

  it("begins at the first answer, not the first request: a full budget stays full until a request reaches it", () => {
    const pace = new Pace();
    waits(pace, 500, 1);
    for (let i = 0; i < 20; i++) pace.accepted(600);
    pace.limited(700, 1_000);
    expect(learnedFrom(pace)).toEqual(interval(20, 0, 100));
  });

  it("begins again at a hold that began at 0 ms, like any other", () => {
    const pace = new Pace();
    waits(pace, 0, 1);
    pace.limited(0, 1_000);
    waits(pace, 1_000, 1);
    for (let i = 0; i < 20; i++) pace.accepted(1_100);
    pace.limited(1_500, 1_000);
    expect(learnedFrom(pace)).toEqual(interval(20, 1_000, 500));
  });

  it("counts an answer at the very end of a hold, not one before it", () => {
    const pace = afterFirstHold(20, 1_000);
    pace.accepted(1_009);
    pace.accepted(1_010);
    for (let i = 0; i < LEARNING_SAMPLE - 1; i++) pace.accepted(1_500);
    pace.limited(2_000, 1_000);
    expect(learnedFrom(pace)).toEqual(interval(LEARNING_SAMPLE, 1_000, 990));
  });

  it("ends at a 429 met at the very end of a hold: that one begins the next hold", () => {
    const pace = afterFirstHold(20, 1_000);
    for (let i = 0; i < 12; i++) pace.accepted(1_010);
    pace.limited(1_010, 500);
    expect(learnedFrom(pace)).toEqual(interval(12, 1_000, 0, 500));
    expect(pace.pausedUntil).toBe(1_510);
  });

  it("is left as it was by a 429 in flight whose wait ends with the hold", () => {
    const pace = afterFirstHold(20, 1_000);
    const before = pace.snapshot();
    pace.limited(500, 510);
    expect(pace.snapshot()).toEqual(before);
  });
});

describe("the pace after a hold", () => {
  it("probes from the last token of the burst it opened on, then counts in at the probed rate", () => {
    // 20 in a 1 s hold: 0.02/ms, doubled every 100 ms after the hold ended at 1010.
    // It opened on 18, the 20 less a tenth.
    const pace = afterFirstHold(20, 1_000);
    expect(waits(pace, 1_010, 17)).toEqual(Array(17).fill(0));
    const [last, probed] = waits(pace, 1_060, 2);
    expect(last).toBe(0);
    // Half a step in: 0.02 × √2 a ms.
    expect(probed).toBeCloseTo(1 / (0.02 * Math.SQRT2), 9);
  });

  it("waits for only the part of a token the rate has not refilled yet", () => {
    const pace = new Pace();
    pace.accepted(0, { quota: 2, windowMs: 1_000 });
    expect(waits(pace, 0, 2)).toEqual([0, 0]);
    // 250 ms at 0.002/ms made half a token: the other half takes 250 ms more.
    expect(waits(pace, 250, 1)).toEqual([250]);
  });

  it("opens on the whole burst after a hold nine tenths as long as the one that gave it back, and on the refill after a shorter one", () => {
    const opened = (holdMs: number) => {
      // A 1 s hold gave back only 40 of the 100 before it: nine tenths of the 40 (they held some
      // refill too) come back after holds about as long.
      const pace = afterFirstHold(100, 1_000);
      for (let i = 0; i < 40; i++) pace.accepted(1_020);
      pace.limited(1_020, 1_000);
      pace.limited(2_030, holdMs);
      return waits(pace, 2_030 + holdMs, 40).filter((wait) => wait === 0).length;
    };
    expect(opened(900)).toBe(36);
    // 899 ms at the rate seen (40 in 1010 ms) refilled 35.
    expect(opened(899)).toBe(35);
  });

  /** `first` at once and a 1 s hold, then 40 more by the 429 at 1410 that ends the next interval: held until 2410. */
  const measuredAfter = (first: number) => {
    const pace = afterFirstHold(first, 1_000);
    for (let i = 0; i < first + 40; i++) pace.accepted(1_100);
    pace.limited(1_410, 1_000);
    return pace;
  };

  it("raises a measured rate by a tenth after each quiet stretch (twice the hold, at least a second), not before, when a hold gives the burst back whole", () => {
    // 40 more than the 200 of the first interval (5 ms), in 395 ms longer: measured, as what came
    // in the 1.4 s since the first 429 (it says more), opening on 179: a 1 s hold refills no more
    // than those.
    const pace = measuredAfter(200);
    const measured = (240 / 1_400) * RATE_MARGIN;
    expect([pace.rate, pace.measured, pace.burst]).toEqual([measured, true, 179]);
    pace.accepted(4_410);
    expect(pace.rate).toBe(measured);
    pace.accepted(4_411);
    expect(pace.rate).toBe(measured * 1.1);
    pace.accepted(6_411);
    expect(pace.rate).toBe(measured * 1.1);
    pace.accepted(6_412);
    expect(pace.rate).toBe(measured * 1.1 * 1.1);
  });

  /** measuredAfter(`first`), raised at 4411, then `accepted` by a 429 at 6000 (the raise overshot): held until 7000. */
  const overshotAfter = (first: number, accepted: number) => {
    const pace = measuredAfter(first);
    pace.accepted(4_411);
    for (let i = 1; i < accepted; i++) pace.accepted(5_000);
    pace.limited(6_000, 1_000);
    return pace;
  };
  /** Whether the rate has been raised after `quietMs` from the hold's end at 7000, and not before. */
  const raisedAfter = (pace: Pace, quietMs: number) => {
    const rate = pace.rate;
    pace.accepted(7_000 + quietMs);
    const early = pace.rate !== rate;
    pace.accepted(7_001 + quietMs);
    return !early && pace.rate === rate * 1.1;
  };

  it("once a raise overshot, raises only after a quiet stretch as many times longer as a hold outlasts the burst: each raise that overshoots costs such a hold", () => {
    // 40 more than the 40 of the first interval (5 ms), in 395 ms longer: measured, opening on 35,
    // which a 1 s hold outlasts 2.75 times. No raise has overshot yet: the first comes after 2 s.
    const first = measuredAfter(40);
    const measured = (40 / 395) * RATE_MARGIN;
    expect([first.rate, first.burst]).toEqual([measured, 35]);
    first.accepted(4_411);
    expect(first.rate).toBe(measured * 1.1);
    // The raise overshot: 360 in 3590 ms after a 1 s hold as long as the last, 280 more in 3190 ms
    // longer, opening on 40, which a 1 s hold outlasts 2.08 times.
    const pace = overshotAfter(40, 360);
    const remeasured = (280 / 3_190) * RATE_MARGIN;
    expect([pace.rate, pace.burst]).toEqual([remeasured, 40]);
    expect(raisedAfter(pace, 2_000 * ((1_000 * remeasured) / 40))).toBe(true);
  });

  it("waits five times the quiet stretch at most, however much a hold outlasts the burst, and never less than it", () => {
    // 400 in 3590 ms: opening on 15 at 101/s, which a 1 s hold outlasts 6.75 times.
    const small = overshotAfter(20, 400);
    expect([small.rate, small.burst]).toEqual([(340 / 3_190) * RATE_MARGIN, 15]);
    expect(raisedAfter(small, 10_000)).toBe(true);
    // 601 in 3590 ms: opening on 175 at 124/s, which a 1 s hold refills but seven tenths of.
    const large = overshotAfter(200, 601);
    expect(large.burst).toBe(175);
    expect(large.rate * 1_000).toBeLessThan(175);
    expect(raisedAfter(large, 2_000)).toBe(true);
  });

  it("forgets that a raise overshot when it forgets the pace, a minute after the last hold: the budget may have changed", () => {
    const pace = overshotAfter(40, 360);
    waits(pace, 7_000 + FORGET_PACE_MS, 1);
    expect(pace.snapshot().overshot).toBe(1);
    waits(pace, 7_001 + FORGET_PACE_MS, 1);
    expect(pace.snapshot().overshot).toBe(0);
  });
});

describe("the climb of a probe", () => {
  const probe = (pace: Pace) => {
    const { probeStep, slowdown } = pace.snapshot();
    return { probeStep, slowdown };
  };

  it("halves its pace of climb after each probe that ran two steps or more and taught no rate, down to a sixteenth", () => {
    const pace = new Pace();
    waits(pace, 0, 1);
    const climbs = [];
    // Each 429 comes a second after the last 100 ms hold ended, with too few answers to teach.
    for (let hold = 0; hold < 5; hold++) {
      pace.limited(1_000 + hold * 1_100, 100);
      climbs.push(probe(pace));
    }
    expect(climbs).toEqual([
      { probeStep: 40, slowdown: 2 },
      { probeStep: 80, slowdown: 4 },
      { probeStep: 160, slowdown: 8 },
      { probeStep: 320, slowdown: 16 },
      { probeStep: 320, slowdown: 16 },
    ]);
  });

  it("keeps its pace of climb after a probe that ran less than two steps, and halves it after one that ran two exactly", () => {
    const pace = new Pace();
    waits(pace, 0, 1);
    // The first probe's step is 100 ms: it ran 200.
    pace.limited(200, 1_000);
    expect(probe(pace)).toEqual({ probeStep: 200, slowdown: 2 });
    // Held until 1200; this one ran 399 ms, a millisecond short of two steps of 200.
    pace.limited(1_599, 1_000);
    expect(probe(pace)).toEqual({ probeStep: 200, slowdown: 2 });
  });
});
