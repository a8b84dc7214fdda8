// What this file proves: how many requests a call makes at the rate limit, with the gate on, and
// what it says when it ends (README, "Retries" and "Rate limits"): a 429 spends a retry unless the
// call waited its turn; a server that refuses everything gets maxRetries + 1; a call refused by a
// long hold after it was sent says "not sent again"; onRetry tells the wait that follows; a call
// waiting out its own 429 waits it beside its timeoutMs. Against servers scripted in memory on a
// steered clock (test/support/scripted-server.ts), each call's requests counted by role name.
import { describe, expect, it, vi } from "vitest";
import { createClient, createRateLimiter, type PlanetScaleError } from "../src/index.ts";
import { defaultRetrySettings } from "../src/retry.ts";
import { manualClock } from "./support/clock.ts";
import { BRANCH } from "./support/fixtures.ts";
import { type Answer, runAll, type Seen, scripted } from "./support/scripted-server.ts";

const where = BRANCH;

const TOKEN = "id-outsider:tok-outsider-secret";
const base = { serviceToken: TOKEN, baseUrl: "https://api.test/v1" };
const refuseAllAfter =
  (accepted: number) =>
  (seen: Seen): Answer =>
    seen.total <= accepted ? { status: 200 } : { status: 429, retryAfter: "1" };

describe("a server that refuses everything gets maxRetries + 1 from a call, whatever the client had accepted before", () => {
  // One create accepted, then the server refuses everything (Retry-After: 1). The next create goes
  // at once and waits no turn: its first 429 is its own. It was counted as a turn (an outside attack
  // found it): 4 requests with maxRetries 2, 3 with 1, a quiet 2 minutes between or not.
  for (const [maxRetries, gapMs] of [
    [2, 0],
    [2, 120_000],
    [1, 0],
  ] as const) {
    it(`maxRetries ${maxRetries}, ${gapMs} ms after the accepted call: no more than ${maxRetries + 1} requests`, async () => {
      const clock = manualClock();
      const api = scripted(clock, refuseAllAfter(1));
      const ps = createClient({ ...base, fetch: api.fetch, clock, maxRetries });
      await runAll(clock, [ps.createRole({ ...where, name: "earlier" })]);
      await clock.advance(gapMs);
      const { results } = await runAll(clock, [ps.createRole({ ...where, name: "later" })]);
      expect(results[0]?.status).toBe("rejected");
      expect(api.perName.get("later")).toBeLessThanOrEqual(maxRetries + 1);
    });
  }

  // A lone reset_role answered 500, then 429 (Retry-After 1) for ever: its own 500 counted as the
  // budget letting calls through, and its first 429 (after a backoff, the gate open) as a turn: 4
  // requests, where rateLimiter false made 3.
  it("a lone reset_role answered 500, then 429 for ever: no more than 3 requests", async () => {
    const clock = manualClock();
    const api = scripted(clock, (seen) => (seen.nth === 1 ? { status: 500 } : { status: 429, retryAfter: "1" }));
    const ps = createClient({ ...base, fetch: api.fetch, clock });
    const { results } = await runAll(clock, [ps.resetRole({ ...where, id: "r1" })]);
    expect((results[0] as PromiseRejectedResult).reason.outcomeUnknown).toBe(true);
    expect(api.requests()).toBeLessThanOrEqual(3);
  });

  it("ten creates after one accepted: no more than 3 requests each (they were 4 each, 40 429s)", async () => {
    const clock = manualClock();
    const api = scripted(clock, refuseAllAfter(1));
    const ps = createClient({ ...base, fetch: api.fetch, clock });
    await runAll(clock, [ps.createRole({ ...where, name: "earlier" })]);
    await runAll(
      clock,
      Array.from({ length: 10 }, (_, i) => ps.createRole({ ...where, name: `later-${i}` })),
    );
    const counts = Array.from({ length: 10 }, (_, i) => api.perName.get(`later-${i}`) ?? 0);
    expect(Math.max(...counts)).toBeLessThanOrEqual(3);
  });
});

describe("a call refused at the gate by a long hold after it was sent says it was not sent again", () => {
  // `a` is sent and answered 429 (Retry-After 5); `b`, sent at the same time, meets 429 with
  // Retry-After 3600. `a`'s retry is refused at the gate: its error said "create_role was not sent:
  // the rate limit holds every call on it for another 3595 s", after 1 request.
  it("create_role sent once (429), then refused by another call's hour-long hold: the message says it was sent", async () => {
    const clock = manualClock();
    const api = scripted(clock, (seen) =>
      seen.name === "a" ? { status: 429, retryAfter: "5" } : { status: 429, retryAfter: "3600" },
    );
    const ps = createClient({ ...base, fetch: api.fetch, clock });
    const { results } = await runAll(clock, [
      ps.createRole({ ...where, name: "a" }),
      ps.createRole({ ...where, name: "b" }),
    ]);
    expect(api.perName.get("a")).toBe(1);
    const error = (results[0] as PromiseRejectedResult).reason as PlanetScaleError;
    expect(error.constructor.name).toBe("RateLimitError");
    expect(error.message).not.toMatch(/^create_role was not sent:/);
    expect(error.message).toMatch(/not sent again/);
  });

  // After a reset's 500 the same words contradicted the rest: "reset_role was not sent: … The outcome
  // is unknown: the password … may have been reset".
  it("reset_role answered 500, its retry refused by an hour-long hold: the message does not say it was never sent", async () => {
    const clock = manualClock();
    const api = scripted(clock, (seen) => {
      if (seen.method === "POST") return seen.nth === 1 ? { status: 500 } : { status: 200 };
      return { status: 429, retryAfter: "3600" };
    });
    const ps = createClient({ ...base, fetch: api.fetch, clock, backoff: { baseMs: 1000, maxMs: 1000 } });
    const reset = ps.resetRole({ ...where, id: "r1" });
    reset.catch(() => {});
    await clock.advance(15);
    const other = ps.getRole({ ...where, id: "other" }, { maxRetries: 0 });
    const { results } = await runAll(clock, [reset, other]);
    expect(api.requests()).toBe(2);
    const error = (results[0] as PromiseRejectedResult).reason as PlanetScaleError;
    expect(error.outcomeUnknown).toBe(true);
    expect(error.message).toMatch(/may have been reset/);
    expect(error.message).not.toMatch(/^reset_role was not sent:/);
  });
});

describe("a limiter the caller makes waits on the clock it is given", () => {
  // createClient's `clock` reaches the limiter it makes itself; one the caller makes with
  // createRateLimiter() has its own (the real one unless given): README, Rate limits.
  it("createRateLimiter({ clock }) on the client's steered clock: sent again once the Retry-After has passed on it", async () => {
    const clock = manualClock();
    const api = scripted(clock, (seen) => (seen.total === 1 ? { status: 429, retryAfter: "30" } : { status: 200 }));
    const rateLimiter = createRateLimiter({ clock });
    const ps = createClient({ ...base, fetch: api.fetch, clock, rateLimiter, timeoutMs: 120_000 });
    const { results } = await runAll(clock, [ps.createRole({ ...where, name: "steered-gate" })]);
    expect(results[0]?.status).toBe("fulfilled");
    // The 429 is answered 10 ms after it was sent; the hold runs 30 s from then.
    expect(api.log.map((entry) => entry.at - (api.log[0]?.at ?? 0))).toEqual([0, 30_010]);
  });
});

describe("onRetry's delayMs is the wait that follows", () => {
  // A lone create against a server that answers 429 without Retry-After (maxRetries 4). With the
  // gate the wait came from a second draw of the jitter: told 475, 950, 1,900, 3,800 ms, sent again
  // after 275, 550, 1,100, 2,200. The jitter is made deterministic by stubbing Math.random (0.1,
  // 0.9, 0.1, …) in the client's default settings, which hold the jitter's source.
  for (const rateLimiter of [undefined, false] as const) {
    it(`rateLimiter ${rateLimiter === false ? "false" : "default"}: each retry goes delayMs after onRetry was told`, async () => {
      let draw = 0;
      const random = vi.spyOn(defaultRetrySettings, "random").mockImplementation(() => (draw++ % 2 === 0 ? 0.1 : 0.9));
      try {
        const clock = manualClock();
        const api = scripted(clock, () => ({ status: 429 }), 0);
        const told: { at: number; delayMs: number }[] = [];
        const ps = createClient({
          ...base,
          fetch: api.fetch,
          clock,
          maxRetries: 4,
          ...(rateLimiter === false ? { rateLimiter } : {}),
          onRetry: (event) => told.push({ at: clock.now(), delayMs: event.delayMs }),
        });
        await runAll(clock, [ps.createRole({ ...where, name: "lone" })], 600_000, 1);
        const sentAt = api.log.map((entry) => entry.at);
        expect(told).toHaveLength(4);
        expect(told.map((event, i) => (sentAt[i + 1] ?? Number.NaN) - event.at)).toEqual(
          told.map((event) => event.delayMs),
        );
      } finally {
        random.mockRestore();
      }
    });
  }
});

describe("a call waiting out a 429 of its own at the gate waits it beside its timeoutMs", () => {
  // A lone call, timeoutMs 3,000, 429 with Retry-After 5, then 200. With rateLimiter false it sleeps
  // the 5 s and is sent again. With the gate it timed out there at 3,010 ms ("it was not sent
  // again"), 1 request: the hold counted against its next attempt's timeoutMs.
  for (const rateLimiter of [undefined, false] as const) {
    it(`rateLimiter ${rateLimiter === false ? "false" : "default"}: a create answered 429 (Retry-After 5) under timeoutMs 3000 is sent again and done`, async () => {
      const clock = manualClock();
      const api = scripted(clock, (seen) => (seen.nth === 1 ? { status: 429, retryAfter: "5" } : { status: 200 }));
      const ps = createClient({
        ...base,
        fetch: api.fetch,
        clock,
        maxRetries: 1,
        timeoutMs: 3_000,
        ...(rateLimiter === false ? { rateLimiter } : {}),
      });
      const { results } = await runAll(clock, [ps.createRole({ ...where, name: "own-429" })]);
      expect(api.perName.get("own-429")).toBe(2);
      expect(results[0]?.status).toBe("fulfilled");
    });
  }

  // That timeout also spent a retry: maxRetries 2, 429 (Retry-After 5) twice, then 200: onRetry was
  // told of a RateLimitError then a TimeoutError, and the call ended in RateLimitError after 2 requests.
  it("a get answered 429 (Retry-After 5) twice under timeoutMs 3000, maxRetries 2: no retry is spent on the gate, done on the third request", async () => {
    const clock = manualClock();
    const api = scripted(clock, (seen) => (seen.nth <= 2 ? { status: 429, retryAfter: "5" } : { status: 200 }));
    const told: string[] = [];
    const ps = createClient({
      ...base,
      fetch: api.fetch,
      clock,
      maxRetries: 2,
      timeoutMs: 3_000,
      onRetry: (event) => told.push((event.error as Error).constructor.name),
    });
    const { results } = await runAll(clock, [ps.getRole({ ...where, id: "r1" })]);
    expect(told).toEqual(["RateLimitError", "RateLimitError"]);
    expect(api.requests()).toBe(3);
    expect(results[0]?.status).toBe("fulfilled");
  });

  it("waits only its own hold beside timeoutMs: the attempt after a 5xx that follows has timeoutMs alone", async () => {
    // 429 (Retry-After 5), then 500 (a backoff), then an answer that never comes: the third attempt
    // ends timeoutMs after it was sent, not timeoutMs plus the hold.
    const clock = manualClock();
    const answers: Answer[] = [{ status: 429, retryAfter: "5" }, { status: 500 }, { status: "hang" }];
    const api = scripted(clock, (seen) => answers[seen.nth - 1] ?? { status: 200 });
    const ps = createClient({ ...base, fetch: api.fetch, clock, timeoutMs: 3_000 });
    let endedAt = 0;
    const call = ps.getRole({ ...where, id: "r1" }).finally(() => {
      endedAt = clock.now();
    });
    const { results } = await runAll(clock, [call]);
    expect((results[0] as PromiseRejectedResult).reason.constructor.name).toBe("TimeoutError");
    expect(endedAt - (api.log[2]?.at ?? 0)).toBe(3_000);
  });
});

/** One request through per hold: the first after a hold is accepted, the next 429s and starts a hold of `seconds`. */
function onePerHold(seconds: number, refuse: (seen: Seen) => boolean = () => false) {
  let holdUntil = Number.NEGATIVE_INFINITY;
  let passed = false;
  return (seen: Seen): Answer => {
    const no = { status: 429 as const, retryAfter: String(seconds) };
    if (seen.now < holdUntil) return no;
    if (!passed && !refuse(seen)) {
      passed = true;
      return { status: 200 };
    }
    holdUntil = seen.now + seconds * 1_000;
    passed = false;
    return no;
  };
}

describe("the bounds on a call's requests at the rate limit", () => {
  it("a create the server always refuses while it accepts the others gets exactly 1 + 3·maxRetries requests, then RateLimitError", async () => {
    for (const maxRetries of [0, 1, 2, 3]) {
      const clock = manualClock();
      const api = scripted(clock, (seen) =>
        seen.name === "victim" ? { status: 429, retryAfter: "1" } : { status: 200 },
      );
      const ps = createClient({ ...base, fetch: api.fetch, clock, maxRetries });
      const victim = ps.createRole({ ...where, name: "victim" });
      const others = Array.from({ length: 60 }, (_, i) =>
        clock.sleep(i * 300).then(() => ps.createRole({ ...where, name: `o-${i}` })),
      );
      const { done, results } = await runAll(clock, [victim, ...others]);
      expect(done).toBe(true);
      const error = (results[0] as PromiseRejectedResult).reason as PlanetScaleError;
      expect([error.constructor.name, error.outcomeUnknown]).toEqual(["RateLimitError", false]);
      expect(api.perName.get("victim")).toBe(1 + 3 * maxRetries);
    }
  });

  it("with rateLimiter false the same create gets maxRetries + 1", async () => {
    const clock = manualClock();
    const api = scripted(clock, (seen) =>
      seen.name === "victim" ? { status: 429, retryAfter: "1" } : { status: 200 },
    );
    const ps = createClient({
      ...base,
      fetch: api.fetch,
      clock,
      rateLimiter: false,
      maxConcurrency: Number.POSITIVE_INFINITY,
    });
    const others = Array.from({ length: 30 }, (_, i) =>
      clock.sleep(i * 200).then(() => ps.createRole({ ...where, name: `o-${i}` })),
    );
    await runAll(clock, [ps.createRole({ ...where, name: "victim" }).catch(() => undefined), ...others]);
    expect(api.perName.get("victim")).toBe(3);
  });

  it("a fleet of 3 clients on one createRateLimiter({ clock }) against a server that refuses everything: 3 requests a call", async () => {
    const clock = manualClock();
    const api = scripted(clock, () => ({ status: 429, retryAfter: "1" }));
    const rateLimiter = createRateLimiter({ clock });
    const clients = [0, 1, 2].map(() => createClient({ ...base, fetch: api.fetch, clock, rateLimiter }));
    const { results } = await runAll(
      clock,
      clients.flatMap((ps, k) => Array.from({ length: 4 }, (_, i) => ps.createRole({ ...where, name: `k${k}-${i}` }))),
    );
    expect(api.requests()).toBe(36);
    expect([...api.perName.values()].every((n) => n === 3)).toBe(true);
    expect(results.every((r) => r.status === "rejected" && r.reason.constructor.name === "RateLimitError")).toBe(true);
  });

  for (const after of [{ status: 500 }, { status: "reset" }, { status: "hang" }] as const) {
    it(`a create that waited two turns (429s) and then met ${after.status} is not sent again, outcome unknown`, async () => {
      const clock = manualClock();
      const api = scripted(clock, (seen) => {
        if (seen.name !== "victim") return { status: 200 };
        return seen.nth <= 2 ? { status: 429, retryAfter: "1" } : after;
      });
      const ps = createClient({ ...base, fetch: api.fetch, clock, timeoutMs: 5_000 });
      const others = Array.from({ length: 10 }, (_, i) => ps.createRole({ ...where, name: `o-${i}` }));
      const { results } = await runAll(clock, [ps.createRole({ ...where, name: "victim" }), ...others]);
      expect(api.perName.get("victim")).toBe(3);
      expect((results[0] as PromiseRejectedResult).reason.outcomeUnknown).toBe(true);
    });
  }

  it("maxRetries 0, on the client or on one call, sends each create once behind a server that lets one through per hold", async () => {
    for (const onCall of [false, true]) {
      const clock = manualClock();
      const api = scripted(clock, onePerHold(1));
      const ps = createClient({ ...base, fetch: api.fetch, clock, ...(onCall ? {} : { maxRetries: 0 }) });
      await runAll(
        clock,
        Array.from({ length: 10 }, (_, i) =>
          ps.createRole({ ...where, name: `z-${i}` }, onCall ? { maxRetries: 0 } : {}),
        ),
      );
      expect(api.requests()).toBe(10);
    }
  });

  it("20 creates behind a server that lets one through per 1 s hold all end, none past 1 + 3·maxRetries, all created", async () => {
    const clock = manualClock();
    const api = scripted(clock, onePerHold(1));
    const ps = createClient({ ...base, fetch: api.fetch, clock, timeoutMs: 600_000 });
    const { done, results } = await runAll(
      clock,
      Array.from({ length: 20 }, (_, i) => ps.createRole({ ...where, name: `h-${i}` })),
    );
    expect(done).toBe(true);
    expect(Math.max(...api.perName.values())).toBeLessThanOrEqual(7);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(20);
  });

  it("an abort at the gate says whether the create was sent, and leaves the outcome known", async () => {
    const clock = manualClock();
    const api = scripted(clock, (seen) => (seen.name === "sent" ? { status: 429, retryAfter: "5" } : { status: 200 }));
    const ps = createClient({ ...base, fetch: api.fetch, clock });
    const controller = new AbortController();
    const sent = ps.createRole({ ...where, name: "sent" }, { signal: controller.signal });
    await clock.advance(100);
    const unsent = ps.createRole({ ...where, name: "unsent" }, { signal: controller.signal });
    await clock.advance(1_000);
    controller.abort();
    const { results } = await runAll(clock, [sent, unsent]);
    const [a, b] = results.map((r) => (r as PromiseRejectedResult).reason as PlanetScaleError);
    expect([a?.constructor.name, a?.outcomeUnknown, b?.constructor.name, b?.outcomeUnknown]).toEqual([
      "AbortError",
      false,
      "AbortError",
      false,
    ]);
    expect(a?.message).toMatch(/not sent again/);
    expect(b?.message).toMatch(/nothing was sent/);
    expect([api.perName.get("sent"), api.perName.get("unsent")]).toEqual([1, undefined]);
  });
});
