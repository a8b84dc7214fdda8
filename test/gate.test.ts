// The pace a client learns at the rate limit (the model at the top of src/gate.ts): what it learns
// from which signal, what it does with it, when it forgets, and that no wait outlasts a deadline.
import { getEventListeners } from "node:events";
import { describe, expect, it, vi } from "vitest";
import {
  ConcurrencyGate,
  createRateLimiter,
  enterGate,
  FORGET_PACE_MS,
  HoldTooLong,
  LEARNING_SAMPLE,
  type Learned,
  learnFromHold,
  Pace,
  RATE_MARGIN,
  readRateLimitHeaders,
} from "../src/gate.ts";
import { createClient, PlanetScaleError, type RateLimiter, TimeoutError } from "../src/index.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { asleep, expectSentAgainAt, manualClock, settle } from "./support/clock.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { limitedApi, type Shape } from "./support/limiter-shapes.ts";
import { afterFirstHold, waits } from "./support/pace.ts";
import { serverForTests } from "./support/per-test.ts";
import { json, startServer } from "./support/servers.ts";

const first = (accepted: number): Learned =>
  learnFromHold({ accepted, heldMs: 0, sendingMs: 10, retryAfterMs: 1_000 }, undefined) as Learned;

describe("the pace", () => {
  it("costs nothing until a 429: every reserve is 0, and the limiter and the gate return nothing", () => {
    const pace = new Pace();
    expect(waits(pace, 0, 500).every((wait) => wait === 0)).toBe(true);
    const limiter = createRateLimiter({ clock: manualClock() });
    const gate = { concurrency: new ConcurrencyGate(Number.POSITIVE_INFINITY), limiter };
    for (let i = 0; i < 100; i++) limiter.accepted(new Headers());
    expect(Array.from({ length: 100 }, () => limiter.acquire())).toEqual(Array(100).fill(undefined));
    expect(enterGate(gate, undefined)).toBeUndefined();
  });

  it("refuses at once a hold longer than the call waits out, and one that begins while it waits; a hold of exactly that long is waited", async () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ clock });
    limiter.limited(1_000);
    await expect(limiter.acquire(undefined, undefined, 999)).rejects.toStrictEqual(new HoldTooLong(1_000));
    const waiting = limiter.acquire(undefined, undefined, 1_000);
    expect(waiting).toBeInstanceOf(Promise);
    const refused = expect(waiting).rejects.toStrictEqual(new HoldTooLong(4_500));
    await clock.advance(500);
    // An answer of a call sent before the hold: the hold grows to 5 s from here, past what the waiting call waits out.
    limiter.limited(5_000);
    await clock.advance(500);
    await refused;
    // Without a longest hold given (a caller that knows none), the call waits the hold out.
    const patient = limiter.acquire();
    let through = false;
    void patient?.then(() => {
      through = true;
    });
    await clock.advance(4_499);
    expect(through).toBe(false);
    await clock.advance(1);
    expect(through).toBe(true);
  });

  it("learns the burst from the first hold, and opens on nine tenths of it when the hold ends: the first count held refill too", () => {
    const pace = afterFirstHold(100, 2_000);
    expect(pace.pausedUntil).toBe(2_010);
    expect(waits(pace, 500, 1)[0]).toBe(1_510);
    // The slot reserved at 500 was the burst's first.
    const opened = waits(pace, 2_010, 90);
    expect(opened.slice(0, 89).every((wait) => wait === 0)).toBe(true);
    // One past the burst goes a little later, as a probe: for a window its 429 says when the next starts.
    expect(opened[89]).toBeGreaterThan(0);
    expect(pace.measured).toBe(false);
  });

  it("starts the probe where the burst it opened on ends: while that burst is being sent, nothing more is counted in", () => {
    const pace = afterFirstHold(100, 2_000);
    expect(waits(pace, 2_010, 50).every((wait) => wait === 0)).toBe(true);
    // Half a second later (the burst sent at the concurrency cap, or by a fleet), the rest of it goes, then the probe.
    const later = waits(pace, 2_510, 41);
    expect(later.slice(0, 40).every((wait) => wait === 0)).toBe(true);
    expect(later[40]).toBeGreaterThan(0);
  });

  it("counts no answer that arrives during a hold: it was sent before the hold, and the next hold learns nothing from it", () => {
    const pace = afterFirstHold(20, 1_000);
    const taught = pace.snapshot().known?.seen;
    for (let i = 0; i < 15; i++) pace.accepted(500);
    pace.limited(1_100, 1_000);
    expect(pace.snapshot().known?.seen).toEqual(taught);
  });

  it("lengthens the hold for a later 429 in flight, and moves the waits already reserved", () => {
    const pace = afterFirstHold(20, 1_000);
    const holds = pace.holds;
    pace.limited(12, 1_500);
    expect(pace.pausedUntil).toBe(1_512);
    expect(pace.holds).toBe(holds + 1);
    pace.limited(13, 200);
    expect(pace.pausedUntil).toBe(1_512);
  });

  it("learns nothing from a 429 met while barely sending: it only holds", () => {
    const pace = afterFirstHold(2, 1_000);
    expect(waits(pace, 500, 1)[0]).toBe(510);
    expect(waits(pace, 1_010, 60).every((wait) => wait === 0)).toBe(true);
  });

  it("learns the burst from a first hold of fewer than LEARNING_SAMPLE once that many calls, accepted or refused, met it", () => {
    // A bucket of 5: 5 accepted, then the other 10 calls in flight answered 429 (the first at 10).
    const pace = afterFirstHold(5, 1_000);
    for (let i = 0; i < LEARNING_SAMPLE - 5 - 2; i++) pace.limited(11, 999);
    expect(pace.rate).toBe(0);
    const holds = pace.holds;
    pace.limited(11, 999);
    expect([pace.rate, pace.burst, pace.measured]).toEqual([5 / 1_000, 5, false]);
    // The slots reserved before are reserved again: the hold now ends on a burst of 5, then paces.
    expect(pace.holds).toBe(holds + 1);
    const slots = waits(pace, 500, 6);
    expect(slots.slice(0, 5)).toEqual([510, 510, 510, 510, 510]);
    expect(slots[5]).toBeGreaterThan(510);
    // Later 429s of the same hold teach nothing more.
    pace.limited(12, 1_000);
    expect([pace.rate, pace.burst]).toEqual([5 / 1_000, 5]);
  });

  it("learns nothing from the 429s of a first hold that nothing got through before", () => {
    const pace = afterFirstHold(0, 1_000);
    for (let i = 0; i < 2 * LEARNING_SAMPLE; i++) pace.limited(11, 999);
    expect([pace.rate, pace.snapshot().known]).toEqual([0, null]);
  });

  it("learns nothing more from the other 429s of a hold that taught: what it learned stands", () => {
    const pace = afterFirstHold(LEARNING_SAMPLE, 1_000);
    const taught = pace.snapshot();
    expect(taught.known).not.toBeNull();
    for (let i = 0; i < LEARNING_SAMPLE; i++) pace.limited(11, 999);
    expect({ ...pace.snapshot(), refused: taught.refused }).toEqual(taught);
  });

  it("does not learn a first hold's few from 429s of another hold", () => {
    const pace = afterFirstHold(5, 1_000);
    pace.limited(2_000, 1_000);
    for (let i = 0; i < LEARNING_SAMPLE; i++) pace.limited(2_001, 1_000);
    expect(pace.rate).toBe(0);
  });

  it("probes upward from a rate it only knows as a lower bound: the gaps between slots shrink", () => {
    const pace = afterFirstHold(20, 1_000);
    const slots = waits(pace, 1_010, 60);
    const gap = (i: number) => (slots[i + 1] as number) - (slots[i] as number);
    expect(gap(25)).toBeGreaterThan(gap(55));
    expect(gap(55)).toBeGreaterThan(0);
  });

  it("forgets a learned pace a minute after the last hold ended", () => {
    const pace = afterFirstHold(20, 1_000);
    expect(waits(pace, 2_000, 60).some((wait) => wait > 0)).toBe(true);
    const later = 1_010 + FORGET_PACE_MS + 1;
    expect(waits(pace, later, 60).every((wait) => wait === 0)).toBe(true);
  });

  it("after a hold shorter than the one a burst came back from, opens only on what the refill made", () => {
    const pace = afterFirstHold(100, 400);
    // 40 came back after a 400 ms hold (a bucket of 100 + 100/s): the burst is more than a hold this long gives.
    for (let i = 0; i < 40; i++) pace.accepted(420);
    pace.limited(420, 200);
    const opened = waits(pace, 620, 40);
    const atOnce = opened.filter((wait) => wait === 0).length;
    // 200 ms at the rate seen (40 in 410 ms) refill about 19; not the 40 a 400 ms hold gave.
    expect(atOnce).toBeGreaterThanOrEqual(15);
    expect(atOnce).toBeLessThanOrEqual(20);
  });
});

describe("answers accepted during the first hold", () => {
  /** 26 got through a full budget in the 64 ms from the first answer (at 30) to the first 429 (at 94); held 1 s. */
  function firstHold(): Pace {
    const pace = new Pace();
    waits(pace, 0, 1);
    pace.accepted(30);
    for (let i = 0; i < 25; i++) pace.accepted(60);
    pace.limited(94, 1_000);
    return pace;
  }
  const openedOn = (pace: Pace, at: number) => waits(pace, at, 30).filter((wait) => wait === 0).length;

  it("say the budget renews as it goes (a bucket): the pace opens on nine tenths of the first count less what the refill made of it", () => {
    const pace = firstHold();
    // One accepted 10 ms into the hold: 0.1/ms, so 6.4 of the 26 were refill; nine tenths of the 19.6 left.
    pace.accepted(104);
    expect(openedOn(pace, 1_094)).toBe(17);
    // The probe's lower bound stays the first count over the hold: it is under half that refill.
    expect(pace.rate).toBe(0.026);
  });

  it("start the probe at half the refill they came at, when the first count over the hold said more: from above, its 429 would measure nothing", () => {
    const pace = new Pace();
    waits(pace, 0, 1);
    pace.accepted(30);
    for (let i = 0; i < 124; i++) pace.accepted(200);
    // 125 in 254 ms, held 1 s: 0.125/ms guessed; one accepted 20 ms into the hold says 0.05/ms.
    pace.limited(284, 1_000);
    pace.accepted(304);
    expect(pace.rate).toBe(0.025);
    // Nine tenths of 125 less 254 ms at 0.05/ms at once, then the probe's first slot 40 ms on.
    expect(waits(pace, 1_284, 102)).toEqual([...Array(101).fill(0), 40]);
  });

  it("move the slots already reserved from the opening: they are reserved again, from the smaller one", () => {
    const pace = firstHold();
    // Calls (429s retried) took every slot of the opening on 23 (26 less a tenth), and one of the probe's after it.
    expect(waits(pace, 100, 24).filter((wait) => wait === 994)).toHaveLength(23);
    const { holds } = pace;
    pace.accepted(104);
    expect(pace.holds).toBe(holds + 1);
    expect(openedOn(pace, 1_094)).toBe(17);
  });

  it("none, only 429s (a window gives nothing before its end): the pace opens on the first count less a tenth", () => {
    const pace = firstHold();
    pace.limited(104, 1_000);
    expect(openedOn(pace, 1_104)).toBe(23);
    expect(pace.rate).toBe(0.026);
  });

  it("give the refill over the time answers kept coming, 429s included", () => {
    const pace = firstHold();
    pace.accepted(104);
    // A 429 at 114: one accepted in 20 ms, 0.05/ms, so 3.2 of the 26 were refill; nine tenths of 22.8.
    pace.limited(114, 900);
    expect(openedOn(pace, 1_094)).toBe(20);
  });

  it("never take off more than half of the first count", () => {
    const pace = firstHold();
    for (let i = 0; i < 5; i++) pace.accepted(95);
    expect(openedOn(pace, 1_094)).toBe(13);
  });

  it("only the first hold's: after a later hold the burst is what that hold taught", () => {
    const pace = firstHold();
    // 12 in the 200 ms after the hold: short of the 17 it opened on, so nine tenths of them.
    for (let i = 0; i < 12; i++) pace.accepted(1_200);
    pace.limited(1_294, 1_000);
    pace.accepted(1_304);
    expect(pace.burst).toBe(10);
  });

  it("leave a declared policy's burst as it is", () => {
    const pace = new Pace();
    pace.accepted(0, { quota: 10, windowMs: 1_000 });
    pace.limited(5, 1_000);
    pace.accepted(10);
    expect(openedOn(pace, 1_005)).toBe(10);
  });
});

describe("what a hold teaches", () => {
  it("the successes between two holds give the refill rate: what came beyond the burst, over the time it took", () => {
    // A bucket of 20 + 100/s: 20 at once, a 1 s hold, then 60 in the 400 ms the probe sent before the
    // next 429: 40 more than the first count, in 390 ms longer.
    const learned = learnFromHold({ accepted: 60, heldMs: 1_000, sendingMs: 400, retryAfterMs: 1_000 }, first(20));
    expect(learned?.measured).toBe(true);
    expect(learned?.rate).toBeCloseTo((40 / 390) * RATE_MARGIN, 5);
    // Nine tenths of what the hold gave back: 60 less 400 ms at 40/390.
    expect(learned?.burst).toBe(Math.floor(0.9 * (60 - (40 / 390) * 400)));
  });

  it("two holds as long as each other give the refill rate even when the burst was taken too large", () => {
    // The first burst was spread over the start (34 for a bucket of 20); holds of 1 s gave 23 in 56 ms, then 54 in 355 ms.
    const earlier = learnFromHold({ accepted: 23, heldMs: 1_000, sendingMs: 56, retryAfterMs: 1_000 }, first(34));
    const learned = learnFromHold({ accepted: 54, heldMs: 1_003, sendingMs: 355, retryAfterMs: 1_000 }, earlier);
    expect(earlier?.measured).toBe(false);
    expect(learned?.measured).toBe(true);
    expect(learned?.rate).toBeCloseTo((31 / 299) * RATE_MARGIN, 5);
    // What a 1 s hold gives back: 54 less what 355 ms of refill made, about 17.
    expect(learned?.ceiling).toBeCloseTo(54 - (31 / 299) * 355, 5);
  });

  it("about one burst after a hold is a window's renewal (or a bucket the hold filled): the rate stays a lower bound", () => {
    const learned = learnFromHold({ accepted: 125, heldMs: 2_000, sendingMs: 40, retryAfterMs: 2_000 }, first(125));
    expect(learned?.measured).toBe(false);
    expect(learned?.wholeAfterMs).toBe(0);
    expect(learned?.rate).toBeCloseTo(125 / 2_040, 5);
  });

  it("an opening burst that got through whole is the burst again, however long the sending took; one fewer shrinks it", () => {
    // A window of 125: the pace opened on 112 (a tenth off) after the first hold, and all 125 got through
    // again (the 429 came at the probe after them), in 200 ms and then 300 ms at the concurrency cap. Taking
    // off what a refill might have made while they went would open the next window short of its count
    // and push its 429, and so every later window's start, later by the time the probe takes.
    const second = learnFromHold({ accepted: 125, heldMs: 2_000, sendingMs: 200, retryAfterMs: 2_000 }, first(125));
    expect(second?.burst).toBe(125);
    const third = learnFromHold({ accepted: 125, heldMs: 2_000, sendingMs: 300, retryAfterMs: 2_000 }, second);
    expect(third?.measured).toBe(false);
    expect(third?.burst).toBe(125);
    // One fewer than the pace opened on: the refill the sending might have made comes off.
    expect(first(125).burst).toBe(112);
    const short = learnFromHold({ accepted: 111, heldMs: 2_000, sendingMs: 200, retryAfterMs: 2_000 }, first(125));
    expect(short?.burst).toBe(Math.floor(111 - 2 * (111 / 2_200) * 200));
  });

  it("holds of different lengths that agree on the rate measure it (429s without Retry-After, held by the backoff)", () => {
    // A bucket of 100 + 100/s held 431 ms, then 301 ms: each gave back only its refill.
    const earlier = learnFromHold({ accepted: 44, heldMs: 431, sendingMs: 15, retryAfterMs: 264 }, first(102));
    const learned = learnFromHold({ accepted: 31, heldMs: 301, sendingMs: 12, retryAfterMs: 495 }, earlier);
    expect(earlier?.measured).toBe(false);
    expect(learned?.measured).toBe(true);
    expect(learned?.rate).toBeCloseTo((31 / 313) * RATE_MARGIN, 5);
    // Holds as long that disagree measure nothing.
    const unlike = learnFromHold({ accepted: 20, heldMs: 301, sendingMs: 12, retryAfterMs: 495 }, earlier);
    expect(unlike?.measured).toBe(false);
  });

  it("a measured rate stands when the 429 came in the burst the pace opened on; the burst shrinks", () => {
    const measured = learnFromHold({ accepted: 60, heldMs: 1_000, sendingMs: 400, retryAfterMs: 1_000 }, first(20));
    const learned = learnFromHold({ accepted: 19, heldMs: 1_200, sendingMs: 20, retryAfterMs: 1_000 }, measured);
    expect(learned?.measured).toBe(true);
    expect(learned?.rate).toBe(measured?.rate);
    expect(measured?.burst).toBe(17);
    expect(learned?.burst).toBe(16);
  });
});

describe("rate-limit headers", () => {
  const now = Date.UTC(2026, 11, 1, 12, 0, 0);
  it("reads X-RateLimit-Remaining and -Reset, in seconds from now or as epoch seconds", () => {
    const relative = new Headers({
      "x-ratelimit-limit": "100",
      "x-ratelimit-remaining": "7",
      "x-ratelimit-reset": "30",
    });
    expect(readRateLimitHeaders(relative, now)).toEqual({ remaining: 7, resetMs: 30_000 });
    const epoch = new Headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 12) });
    expect(readRateLimitHeaders(epoch, now)).toEqual({ remaining: 0, resetMs: 12_000 });
  });

  it("reads the IETF draft's RateLimit (r, t) and RateLimit-Policy (q, w), and the older RateLimit-* fields", () => {
    const ietf = new Headers({ ratelimit: '"default";r=50;t=30', "ratelimit-policy": '"default";q=100;w=60' });
    expect(readRateLimitHeaders(ietf, now)).toEqual({ remaining: 50, resetMs: 30_000, quota: 100, windowMs: 60_000 });
    const older = new Headers({ "ratelimit-remaining": "3", "ratelimit-reset": "2", "ratelimit-policy": "10;w=1" });
    expect(readRateLimitHeaders(older, now)).toEqual({ remaining: 3, resetMs: 2_000, quota: 10, windowMs: 1_000 });
  });

  it("reads a reset given in epoch milliseconds, and one already past as no wait", () => {
    const read = (reset: string) =>
      readRateLimitHeaders(new Headers({ "x-ratelimit-remaining": "1", "x-ratelimit-reset": reset }), now);
    expect(read(String(now + 5_000))).toStrictEqual({ remaining: 1, resetMs: 5_000 });
    expect(read(String(now - 5_000))).toStrictEqual({ remaining: 1, resetMs: 0 });
    // Up to 1e9 is seconds from now; past it, epoch seconds; past 1e12, epoch milliseconds.
    expect(read("1000000000")?.resetMs).toBe(1e12);
    expect(read("1000000000000")?.resetMs).toBe(1e15 - now);
  });

  it("reads only whole fields that are a number, with or without spaces and a fraction", () => {
    const remaining = (value: string) =>
      readRateLimitHeaders(new Headers({ "x-ratelimit-remaining": value }), now)?.remaining;
    expect(remaining(" 7 ")).toBe(7);
    expect(remaining("7.25")).toBe(7.25);
    for (const bad of ["7x", "x7", "7 x", "7.x", "-7"]) expect(remaining(bad)).toBeUndefined();
  });

  it("leaves out what the headers do not say: no reset without one, no remaining without one", () => {
    expect(readRateLimitHeaders(new Headers({ "x-ratelimit-remaining": "5" }), now)).toStrictEqual({ remaining: 5 });
    expect(readRateLimitHeaders(new Headers({ ratelimit: '"default";t=30' }), now)).toStrictEqual({ resetMs: 30_000 });
  });

  it("takes a policy only with a quota and a window, both above 0", () => {
    const policy = (value: string) => readRateLimitHeaders(new Headers({ "ratelimit-policy": value }), now);
    expect(policy("10;w=60")).toStrictEqual({ quota: 10, windowMs: 60_000 });
    for (const partial of ["0;w=60", "10;w=0", "q=10", "w=60"]) expect(policy(partial)).toStrictEqual({});
  });

  it("reads the draft's long names between commas and spaces, and no name inside another", () => {
    const long = new Headers({ ratelimit: "limit=100, remaining=42, reset=9" });
    expect(readRateLimitHeaders(long, now)).toStrictEqual({ remaining: 42, resetMs: 9_000 });
    const inside = new Headers({ ratelimit: '"default";xr=5;r=3;at=7;t=2' });
    expect(readRateLimitHeaders(inside, now)).toStrictEqual({ remaining: 3, resetMs: 2_000 });
    const garbled = new Headers({ ratelimit: '"default";r=many;t=-2', "ratelimit-policy": '"default";q=;w=60' });
    expect(readRateLimitHeaders(garbled, now)).toStrictEqual({});
  });

  it("reads nothing from an answer without them", () => {
    expect(readRateLimitHeaders(new Headers({ "content-type": "application/json" }), now)).toBeUndefined();
  });
});

describe("a call whose deadline passes at the gate", () => {
  const BASE = "https://api.test/v1";
  /** A server whose first answer is `first`, then roles. */
  function serverAnswering(first: { ok: boolean; retryAfter?: string; headers?: Record<string, string> }): Shape {
    let answered = 0;
    return () => (answered++ === 0 ? first : { ok: true });
  }

  async function timedOutAtGate(first: Parameters<typeof serverAnswering>[0]) {
    const clock = manualClock();
    const api = limitedApi(serverAnswering(first), clock.now);
    const ps = createClient({ fetch: api.fetch, clock, baseUrl: BASE, serviceToken: "a:b", maxRetries: 0 });
    await ps.createRole({ ...BRANCH, name: "first" }).catch(() => {});
    const late = ps.createRole({ ...BRANCH, name: "late" }, { timeoutMs: 1_000 }).catch((error: unknown) => error);
    await clock.advance(1_000);
    return { error: await late, api };
  }

  it("ends with a TimeoutError that says nothing was sent, while headers say nothing remains", async () => {
    const reset = { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "30" };
    const { error, api } = await timedOutAtGate({ ok: true, headers: reset });
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toMatch(/while waiting at the rate-limit gate; nothing was sent/);
    expect(api.created).toEqual(["first"]);
  });

  it("ends with a TimeoutError that says nothing was sent, while a hold lasts", async () => {
    const { error, api } = await timedOutAtGate({ ok: false, retryAfter: "30" });
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).message).toMatch(/while waiting at the rate-limit gate; nothing was sent/);
    expect(api.created).toEqual([]);
  });

  it("ends with a TimeoutError that says nothing was sent, when its slot in a learned pace is past its deadline", async () => {
    const clock = manualClock();
    const limiter = createRateLimiter({ clock });
    // A pace of 10 a second, as a policy declared; then 40 calls with a 1 s deadline.
    limiter.accepted(new Headers({ "ratelimit-policy": "10;w=1" }));
    const api = limitedApi(() => ({ ok: true }), clock.now);
    const ps = createClient({ fetch: api.fetch, clock, baseUrl: BASE, serviceToken: "a:b", rateLimiter: limiter });
    const calls = Array.from({ length: 40 }, (_, i) =>
      ps.createRole({ ...BRANCH, name: `paced-${i}` }, { timeoutMs: 1_000 }).catch((error: unknown) => error),
    );
    await clock.advance(1_000);
    const outcomes = await Promise.all(calls);
    const timedOut = outcomes.filter((outcome) => outcome instanceof TimeoutError) as TimeoutError[];
    expect(timedOut.length).toBeGreaterThan(0);
    expect(timedOut.every((error) => /nothing was sent/.test(error.message))).toBe(true);
    expect(api.created).toHaveLength(40 - timedOut.length);
  });
});

describe("a store of the caller's that misbehaves", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  function clientWith(acquire: () => unknown) {
    const clock = manualClock();
    let sent = 0;
    const fetch: typeof globalThis.fetch = async () => {
      sent++;
      return Response.json(roleFixture());
    };
    const rateLimiter = { acquire, limited() {}, accepted() {} } as unknown as RateLimiter;
    const ps = createClient({ serviceToken: "id:secret", baseUrl: "https://api.test/v1", fetch, clock, rateLimiter });
    return { ps, clock, sent: () => sent };
  }

  it("lets a call go when acquire returns something that is not a promise", async () => {
    const { ps, sent } = clientWith(() => 5);
    expect((await ps.getRole(ROLE)).name).toBe(roleFixture().name);
    expect(sent()).toBe(1);
  });

  it.each([
    [
      "throws",
      () => {
        throw new Error("store down");
      },
      "store down",
    ],
    ["rejects", () => Promise.reject("boom"), "boom"],
  ])("ends the call unsent, in the package's words, when acquire %s", async (_, acquire, words) => {
    const { ps, sent } = clientWith(acquire);
    const error = (await ps.getRole(ROLE).catch((reason: unknown) => reason)) as PlanetScaleError;
    expect(error).toBeInstanceOf(PlanetScaleError);
    expect(error.message).toBe(`get_role was not sent: its rate limiter failed (${words})`);
    expect(error.outcomeUnknown).toBe(false);
    expect(sent()).toBe(0);
  });

  it("ends the call at its deadline when acquire never settles and ignores the signal", async () => {
    const { ps, clock, sent } = clientWith(() => new Promise(() => {}));
    let settled = false;
    const call = ps.getRole(ROLE, { timeoutMs: 1_000 }).then(
      () => undefined,
      (reason: unknown) => {
        settled = true;
        return reason as PlanetScaleError;
      },
    );
    await clock.advance(999);
    expect(settled).toBe(false);
    await clock.advance(1);
    const error = await call;
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error?.message).toBe(
      "get_role timed out after 1000 ms (timeoutMs) while waiting at the rate-limit gate; nothing was sent",
    );
    expect(sent()).toBe(0);
  });
});

describe("a client whose token another job spends", () => {
  it("is not slowed for long by a 429 it met while barely sending", async () => {
    const clock = manualClock();
    const fake = createFakePlanetScale({ now: () => new Date(clock.now()) });
    const ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken, clock });
    await ps.createRole({ ...BRANCH, name: "a" });
    fake.failNext("get_default_role", { retryAfter: 1 });
    const held = ps.getDefaultRole(BRANCH);
    await clock.advance(1_250);
    await held;
    expect(clock.waits).toHaveLength(1);
    // The hold is over by the time the 60 start: two answers taught no pace, so none waits at the gate.
    const after = Promise.all(Array.from({ length: 60 }, (_, i) => ps.createRole({ ...BRANCH, name: `after-${i}` })));
    await clock.advance(0);
    expect(clock.waits).toHaveLength(1);
    expect(fake.roles()).toHaveLength(61);
    await after;
  });
});

describe("the rate limiter", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });

  describe("the rate limiter hears", () => {
    it("of every answer but a 429 as accepted, and of each 429 with its wait", async () => {
      const heard: string[] = [];
      const limiter: RateLimiter = {
        acquire: () => undefined,
        limited: (ms) => heard.push(`limited ${ms}`),
        accepted: () => heard.push("accepted"),
      };
      const ps = createClient({
        serviceToken: "id:secret",
        baseUrl: server.url,
        rateLimiter: limiter,
        maxRetries: 3,
        backoff: { baseMs: 5, maxMs: 5 },
      });
      server.next(
        json(503, { code: "unavailable", message: "busy" }),
        json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "1" }),
      );
      await ps.getRole(ROLE);
      // This store holds nothing: the call is sent again at once, and the 429's wait was told to it.
      expect(heard).toEqual(["accepted", "limited 1000", "accepted"]);
    });
  });
});

describe("holds", () => {
  const TOKEN = "pscale_tkn_Outsider-Secret-7";

  describe("the gate after a 429", () => {
    it("lets no call waiting for a place through before the Retry-After has passed", async () => {
      // The tenth request is refused at once with Retry-After 1; the first nine answer once it has been.
      const clock = manualClock();
      const arrivals: number[] = [];
      let limitedAt = 0;
      const heldAnswers: (() => void)[] = [];
      const gated = await startServer((request, res) => {
        arrivals.push(clock.now());
        if (arrivals.length === 10) {
          limitedAt = clock.now();
          res.writeHead(429, { "content-type": "application/json", "retry-after": "1" });
          res.end(JSON.stringify({ code: "too_many_requests", message: "slow down" }));
          return;
        }
        const { name } = JSON.parse(request.body) as { name: string };
        const answer = () => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(roleFixture({ name })));
        };
        if (arrivals.length < 10) heldAnswers.push(answer);
        else answer();
      });
      try {
        const client = createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: gated.url, clock });
        const calls = Promise.all(
          Array.from({ length: 12 }, (_, i) => client.createRole({ ...BRANCH, name: `c${i}` })),
        );
        await asleep(clock);
        for (const answer of heldAnswers) answer();
        // The 429's retry and the two calls that waited for a place all wait for the hold.
        await asleep(clock, 3);
        await expectSentAgainAt(clock, 1_000, () => arrivals.length);
        await clock.runAll();
        const results = await calls;
        expect(results).toHaveLength(12);
        const afterLimit = arrivals.slice(10);
        expect(afterLimit.every((at) => at >= limitedAt + 1_000)).toBe(true);
      } finally {
        await gated.close();
      }
    });
  });
});

describe("the gate's queue", () => {
  /** Whether `promise` has settled yet, as "pending", "admitted" or the reason it was refused. */
  function watch(promise: Promise<void> | undefined) {
    let state: unknown = promise ? "pending" : "admitted";
    promise?.then(
      () => {
        state = "admitted";
      },
      (reason: unknown) => {
        state = reason;
      },
    );
    return () => state;
  }

  it("lets calls over the cap in, in order, each as a place frees; a call admitted holds its place", async () => {
    const gate = new ConcurrencyGate(1);
    expect(gate.enter(undefined)).toBeUndefined();
    const [second, third] = [watch(gate.enter(undefined)), watch(gate.enter(undefined))];
    gate.leave();
    await settle();
    expect([second(), third()]).toEqual(["admitted", "pending"]);
    gate.leave();
    await settle();
    expect(third()).toBe("admitted");
    expect(gate.enter(undefined)).toBeInstanceOf(Promise);
  });

  it("lets a call aborted while queued leave with its signal's reason, taking no place and freeing none", async () => {
    const gate = { concurrency: new ConcurrencyGate(1), limiter: createRateLimiter({ clock: manualClock() }) };
    const acquire = vi.spyOn(gate.limiter, "acquire");
    expect(enterGate(gate, undefined)).toBeUndefined();
    const controller = new AbortController();
    const aborted = watch(enterGate(gate, controller.signal));
    const next = watch(enterGate(gate, undefined));
    const reason = new Error("the caller gave up");
    controller.abort(reason);
    await settle();
    expect([aborted(), next()]).toEqual([reason, "pending"]);
    // The place the first call frees goes to the next in line, not to the one that left.
    gate.concurrency.leave();
    await settle();
    expect(next()).toBe("admitted");
    expect(acquire).toHaveBeenCalledTimes(2);
    expect(gate.concurrency.enter(undefined)).toBeInstanceOf(Promise);
  });

  it("leaves no listener behind on the signal a queued call followed, admitted or aborted", async () => {
    // Node keeps a signal that follows another and has an abort listener alive as long as its
    // source, and an aborted one for good: a signal shared by many calls would hold one per call.
    const any = vi.spyOn(AbortSignal, "any");
    try {
      const gate = new ConcurrencyGate(1);
      gate.enter(undefined);
      const shared = new AbortController();
      const admitted = watch(gate.enter(shared.signal));
      const admittedFollower = any.mock.results[0]?.value as AbortSignal;
      const left = new AbortController();
      const aborted = watch(gate.enter(left.signal));
      const abortedFollower = any.mock.results[1]?.value as AbortSignal;
      expect(getEventListeners(admittedFollower, "abort")).toHaveLength(1);
      gate.leave();
      left.abort(new Error("gave up"));
      await settle();
      expect([admitted(), aborted()]).toEqual(["admitted", left.signal.reason]);
      expect(getEventListeners(admittedFollower, "abort")).toHaveLength(0);
      expect(getEventListeners(abortedFollower, "abort")).toHaveLength(0);
    } finally {
      any.mockRestore();
    }
  });

  it("gives back the place when the limiter throws, and the caller gets its error", () => {
    const failure = new Error("the store is gone");
    const limiter: RateLimiter = {
      acquire: () => {
        throw failure;
      },
      limited: () => {},
      accepted: () => {},
    };
    const gate = { concurrency: new ConcurrencyGate(1), limiter };
    expect(() => enterGate(gate, undefined)).toThrow(failure);
    expect(gate.concurrency.enter(undefined)).toBeUndefined();
  });

  it("gives back the place when the wait at the pace ends on the call's abort", async () => {
    const clock = manualClock();
    const gate = { concurrency: new ConcurrencyGate(1), limiter: createRateLimiter({ clock }) };
    gate.limiter.limited(1_000);
    const controller = new AbortController();
    const held = enterGate(gate, controller.signal);
    const reason = new Error("deadline");
    controller.abort(reason);
    await expect(held).rejects.toBe(reason);
    expect(gate.concurrency.enter(undefined)).toBeUndefined();
  });
});

describe("the wait at the pace", () => {
  /** A limiter whose headers said nothing remains for a second, and a call waiting at it. */
  function waitingForReset() {
    const clock = manualClock(0);
    const limiter = createRateLimiter({ clock });
    limiter.accepted(new Headers({ "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1" }));
    let passed = false;
    limiter.acquire()?.then(() => {
      passed = true;
    });
    return { clock, limiter, passed: () => passed };
  }

  /** Proves the call waiting on `clock` passes exactly `ms` from now: not at `ms - 1`, and at `ms`. */
  async function expectPassedIn(clock: ReturnType<typeof manualClock>, passed: () => boolean, ms: number) {
    await clock.advance(ms - 1);
    expect(passed()).toBe(false);
    await clock.advance(1);
    expect(passed()).toBe(true);
  }

  it("moves a call behind a hold that began while it waited", async () => {
    const { clock, limiter, passed } = waitingForReset();
    await clock.advance(500);
    limiter.limited(2_000);
    await expectPassedIn(clock, passed, 2_000);
    expect(clock.waits).toEqual([1_000, 1_500]);
  });

  it("costs a call nothing more for a hold that began and ended while it waited", async () => {
    const { clock, limiter, passed } = waitingForReset();
    await clock.advance(100);
    limiter.limited(200);
    await expectPassedIn(clock, passed, 900);
    expect(clock.waits).toEqual([1_000]);
  });
});
