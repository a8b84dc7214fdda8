// What this file proves: when the client sends a request again and when it never does. The retry
// table, create_role never repeated once it may have reached the server, repeats of harmless
// operations, 429s with and without the gate, backoff, Retry-After as the server wrote it (parsed,
// capped, honoured), an abort during the wait, and a 404 that only an unknown outcome makes done.
import { beforeEach, describe, expect, it } from "vitest";
import {
  AbortError,
  ConnectionError,
  createClient,
  NotFoundError,
  RateLimitError,
  ServerError,
  TimeoutError,
  UnexpectedResponseError,
} from "../src/index.ts";
import { backoffMs, decide, defaultRetrySettings, operationPolicy, parseRetryAfter } from "../src/retry.ts";
import { asleep, expectSentAgainAt, type ManualClock, manualClock, settle, waitFor } from "./support/clock.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { limitedApi, type Shape } from "./support/limiter-shapes.ts";
import { clientForTests, serverForTests } from "./support/per-test.ts";
import {
  closedPort,
  type Handler,
  hang,
  json,
  resetAfterBody,
  resetBeforeBody,
  startServer,
  type TestServer,
} from "./support/servers.ts";

const FAST = { baseMs: 10, maxMs: 50 };
const role = { ...BRANCH, id: "role-1" };
const server = serverForTests({ reset: true });
const ps = clientForTests(() =>
  createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 3 }),
);
/** The file's client, on a clock the test steers. */
const onClock = (clock: ManualClock) =>
  createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 3, clock });

describe("the retry table", () => {
  // Written out by hand from what repeating each operation does on PlanetScale's side, so that a
  // change to any row of operationPolicy has to be made here too, on purpose.
  it("says, for each operation, whether a repeat is harmless, whether it returns a password, and whether a 404 on a repeat is done", () => {
    const decisions = Object.fromEntries(
      Object.entries(operationPolicy).map(([operation, row]) => [
        operation,
        {
          repeatable: row.repeatable,
          returnsPassword: "returnsPassword" in row && row.returnsPassword === true,
          notFoundOnRepeatMeansDone: "notFoundOnRepeatMeansDone" in row && row.notFoundOnRepeatMeansDone === true,
        },
      ]),
    );
    const row = (repeatable: boolean, returnsPassword = false, notFoundOnRepeatMeansDone = false) => ({
      repeatable,
      returnsPassword,
      notFoundOnRepeatMeansDone,
    });
    expect(decisions).toEqual({
      create_role: row(false, true),
      list_roles: row(true),
      get_role: row(true),
      get_default_role: row(true),
      update_role: row(true),
      delete_role: row(true, false, true),
      renew_role: row(true),
      reset_role: row(true, true),
      reset_default_role: row(true, true),
      reassign_role_objects: row(true),
    });
  });

  it("gives the reasons in terms of what a repeat does", () => {
    expect(operationPolicy.create_role.because).toMatch(/mints another role/);
    expect(operationPolicy.delete_role.because).toMatch(/404/);
    expect(operationPolicy.reset_role.because).toMatch(/last answer's password/);
  });
});

describe("create_role is never repeated once it may have reached the server", () => {
  it.each([
    ["a 502", json(502, { code: "bad_gateway", message: "upstream failed" }), ServerError],
    ["a 500 without a body", json(500, ""), ServerError],
    ["a reset after the body was read", resetAfterBody, ConnectionError],
    ["a reset before the body was read", resetBeforeBody, ConnectionError],
  ])("does not repeat create_role after %s, and says the role may exist", async (_name, fault, ErrorClass) => {
    server.next(fault);
    const error = await ps.createRole({ ...BRANCH, name: "ci-reader" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ErrorClass);
    expect(server.requests).toHaveLength(1);
    expect(error).toMatchObject({ outcomeUnknown: true, operation: "create_role" });
    expect((error as Error).message).toMatch(/may have been created on acme\/app-db\/main/);
    expect((error as Error).stack).toContain("may have been created");
    expect((error as Error).message).toContain('listRoles({ organization, database, branch, q: "ci-reader" })');
  });

  it("does not repeat create_role after a timeout", async () => {
    server.next(hang);
    const clock = manualClock();
    const timed = createClient({ serviceToken: "id:secret", baseUrl: server.url, clock });
    const call = timed.createRole(BRANCH, { timeoutMs: 100 }).catch((e: unknown) => e);
    await waitFor(() => server.requests.length === 1, "the create to arrive");
    await clock.advance(100);
    const error = await call;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).outcomeUnknown).toBe(true);
    expect(server.requests).toHaveLength(1);
  });
});

describe("operations whose repetition is harmless", () => {
  it("repeats get_role after a 502 and a reset, and returns the answer", async () => {
    server.next(json(502, ""), resetAfterBody);
    const got = await ps.getRole(role);
    expect(got.id).toBe("role-1");
    expect(server.requests).toHaveLength(3);
  });

  it("repeats delete_role after a timeout", async () => {
    server.next(hang, (_req, res) => res.writeHead(204).end());
    const clock = manualClock();
    const call = onClock(clock).deleteRole(role, { timeoutMs: 100 });
    await waitFor(() => server.requests.length === 1, "the delete to arrive");
    await clock.advance(100);
    await asleep(clock);
    await clock.runAll();
    await call;
    expect(server.requests.map((r) => r.method)).toEqual(["DELETE", "DELETE"]);
  });

  it("stops after maxRetries and reports the last failure", async () => {
    server.next(json(503, ""), json(503, ""), json(503, ""), json(503, ""));
    const error = await ps.getRole(role, { maxRetries: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect(server.requests).toHaveLength(3);
    await expect(ps.getRole(role, { maxRetries: 0 })).rejects.toBeInstanceOf(ServerError);
  });
});

describe("429", () => {
  it("waits Retry-After seconds, then sends create_role again", async () => {
    server.next(json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "1" }));
    const clock = manualClock();
    const created = onClock(clock).createRole(BRANCH);
    await asleep(clock);
    await expectSentAgainAt(clock, 1_000, () => server.requests.length);
    expect((await created).password).toBe(roleFixture().password);
    expect(clock.waits).toEqual([1_000]);
    expect(server.requests).toHaveLength(2);
  });

  it("honours Retry-After given as an HTTP date", async () => {
    const clock = manualClock();
    // The clock starts on a whole second, so the date names a moment exactly 2 s ahead.
    const when = new Date(clock.now() + 2_000).toUTCString();
    server.next(json(429, "", { "retry-after": when }));
    const created = onClock(clock).createRole(BRANCH);
    await asleep(clock);
    await expectSentAgainAt(clock, 2_000, () => server.requests.length);
    await created;
    expect(clock.waits).toEqual([2_000]);
    expect(server.requests).toHaveLength(2);
  });

  it("does not wait past the cap: the RateLimitError carries the wait", async () => {
    server.next(json(429, "", { "retry-after": "3600" }));
    const capped = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      backoff: { maxRetryAfterMs: 5_000 },
    });
    const error = await capped.createRole(BRANCH).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(3_600_000);
    expect(server.requests).toHaveLength(1);
  });

  it("backs off without Retry-After, and gives up after maxRetries", async () => {
    server.next(json(429, ""), json(429, ""), json(429, ""), json(429, ""));
    const error = await ps.createRole(BRANCH).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(server.requests).toHaveLength(4);
  });

  it("stops waiting when the caller aborts", async () => {
    server.next(json(429, "", { "retry-after": "30" }));
    const clock = manualClock();
    const controller = new AbortController();
    const call = onClock(clock)
      .createRole(BRANCH, { signal: controller.signal })
      .catch((e: unknown) => e);
    await asleep(clock);
    const waitStarted = clock.now();
    controller.abort();
    const error = await call;
    expect(error).toBeInstanceOf(AbortError);
    // The 30 s wait was asked for and ended by the abort: no time passed.
    expect(clock.waits).toEqual([30_000]);
    expect(clock.now()).toBe(waitStarted);
    expect(server.requests).toHaveLength(1);
  });
});

describe("connections that were never established", () => {
  it("are retried for create_role too, since nothing reached the server", async () => {
    // The port is closed for the first attempt and opened while the client backs off.
    const port = await closedPort();
    let late: TestServer | undefined;
    const client = createClient({
      serviceToken: "id:secret",
      baseUrl: `http://127.0.0.1:${port}`,
      backoff: { baseMs: 200, maxMs: 200 },
      logger: (event) => {
        if (event.attempt === 1 && event.error === "ConnectionError") {
          void startServer(json(200, roleFixture()), port).then((s) => {
            late = s;
          });
        }
      },
    });
    try {
      const created = await client.createRole(BRANCH);
      expect(created.username).toBe(roleFixture().username);
      expect(late?.requests).toHaveLength(1);
    } finally {
      await late?.close();
    }
  });

  it("end in a ConnectionError that says nothing was sent", async () => {
    const port = await closedPort();
    const client = createClient({
      serviceToken: "id:secret",
      baseUrl: `http://127.0.0.1:${port}`,
      maxRetries: 1,
      backoff: FAST,
    });
    const error = await client.createRole(BRANCH).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ requestSent: false, outcomeUnknown: false });
    expect((error as Error).message).toContain("nothing was sent");
  });
});

describe("backoff and Retry-After parsing", () => {
  it("doubles each step with jitter in the upper half, up to the cap", () => {
    const at = (random: number, retry: number) => backoffMs(retry, { ...defaultRetrySettings, random: () => random });
    expect([at(0, 1), at(1, 1)]).toEqual([250, 500]);
    expect([at(0, 3), at(1, 3)]).toEqual([1_000, 2_000]);
    expect(at(1, 10)).toBe(defaultRetrySettings.maxDelayMs);
  });

  it("reads seconds and HTTP dates, and ignores garbage", () => {
    const now = Date.parse("Sun, 29 Nov 2026 10:00:00 GMT");
    expect(parseRetryAfter("7", now)).toBe(7_000);
    expect(parseRetryAfter("Sun, 29 Nov 2026 10:00:05 GMT", now)).toBe(5_000);
    expect(parseRetryAfter("Sun, 29 Nov 2026 09:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
    // Past 12 digits no wait is meant, and 400 would read as Infinity, a hold for ever: unreadable,
    // so the backoff applies. Leading zeros count for nothing.
    expect(parseRetryAfter("9".repeat(400), now)).toBeUndefined();
    expect(parseRetryAfter("1000000000000", now)).toBeUndefined();
    expect(parseRetryAfter("999999999999", now)).toBe(999_999_999_999_000);
    expect(parseRetryAfter("00000000000007", now)).toBe(7_000);
  });
});

describe("a Retry-After of no time", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  it.each([
    ["0", "0"],
    ["a date past", "Sun, 29 Nov 2026 09:00:00 GMT"],
  ])("of %s is taken as none: the backoff applies, never repeats back to back", async (_, retryAfter) => {
    for (const rateLimiter of [undefined, false] as const) {
      const clock = manualClock();
      let sent = 0;
      const fetch: typeof globalThis.fetch = async () => {
        sent++;
        if (sent > 1) return Response.json(roleFixture());
        return new Response("{}", { status: 429, headers: { "retry-after": retryAfter } });
      };
      const gate = rateLimiter === false ? { rateLimiter, maxConcurrency: Number.POSITIVE_INFINITY } : {};
      const ps = createClient({ serviceToken: "id:secret", baseUrl: "https://api.test/v1", fetch, clock, ...gate });
      const call = ps.getRole(ROLE);
      await settle();
      expect(sent).toBe(1);
      await clock.runAll();
      await call;
      expect(sent).toBe(2);
    }
  });
});

describe("a hold past maxRetryAfterMs", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  /** A client whose API answers the first request 429 with `retryAfter` seconds, then the role. */
  function heldClient(retryAfter: string, options: Partial<Parameters<typeof createClient>[0]> = {}) {
    const clock = manualClock();
    const sent: string[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      sent.push(new Request(input, init).method);
      if (sent.length > 1) return Response.json(roleFixture());
      return new Response(JSON.stringify({ code: "too_many_requests", message: "slow down" }), {
        status: 429,
        headers: { "retry-after": retryAfter, "content-type": "application/json" },
      });
    };
    const ps = createClient({ serviceToken: "id:secret", baseUrl: "https://api.test/v1", fetch, clock, ...options });
    return { ps, clock, sent };
  }

  it("fails the calls after it at once, unsent, with what remains of the wait", async () => {
    const { ps, clock, sent } = heldClient("86400", { backoff: { maxRetryAfterMs: 60_000 } });
    const first = await failure(ps.getRole(ROLE));
    expect((first as RateLimitError).retryAfterMs).toBe(86_400_000);
    await clock.advance(1_000);
    let settled = false;
    const later = failure(ps.getRole(ROLE)).finally(() => {
      settled = true;
    });
    await settle();
    // Not a wait of the call's whole timeoutMs at the gate, a day long for every call.
    expect(settled).toBe(true);
    const error = await later;
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(86_399_000);
    expect(error.outcomeUnknown).toBe(false);
    expect(error.message).toBe(
      "get_role was not sent: the rate limit holds every call on it for another 86399 s (as an answer's " +
        "Retry-After or rate-limit headers said), longer than backoff.maxRetryAfterMs (60000 ms), so it was not waited for",
    );
    expect(sent).toEqual(["GET"]);
  });

  it("tells the call that met it why it was not sent again, and that the calls after it are refused until then", async () => {
    const { ps, sent } = heldClient("86400", { backoff: { maxRetryAfterMs: 60_000 } });
    const error = await failure(ps.getRole(ROLE));
    expect(error.message).toBe(
      "get_role failed: 429 too_many_requests: slow down; its Retry-After (86400 s) is longer than " +
        "backoff.maxRetryAfterMs (60000 ms), so it was not sent again, and every call on this rate limit is " +
        "refused, unsent, until then",
    );
    expect(error.stack?.split("\n")[0]).toBe(`RateLimitError: ${error.message}`);
    expect(sent).toEqual(["GET"]);
  });

  it("with the rate limiter off, says only why the call was not sent again: nothing holds the others", async () => {
    const { ps } = heldClient("120", {
      backoff: { maxRetryAfterMs: 60_000 },
      rateLimiter: false,
      maxConcurrency: Number.POSITIVE_INFINITY,
    });
    const error = await failure(ps.getRole(ROLE));
    expect(error.message).toBe(
      "get_role failed: 429 too_many_requests: slow down; its Retry-After (120 s) is longer than " +
        "backoff.maxRetryAfterMs (60000 ms), so it was not sent again",
    );
  });

  it("says nothing of it for a Retry-After within maxRetryAfterMs that the call ran out of retries for", async () => {
    const { ps } = heldClient("60", { backoff: { maxRetryAfterMs: 60_000 } });
    const error = await failure(ps.getRole(ROLE, { maxRetries: 0 }));
    expect(error.message).toBe("get_role failed: 429 too_many_requests: slow down");
  });

  it("is waited for up to maxRetryAfterMs: a hold of exactly that much holds the call, then sends it", async () => {
    const { ps, clock, sent } = heldClient("60", { backoff: { maxRetryAfterMs: 60_000 }, timeoutMs: 120_000 });
    await failure(ps.getRole(ROLE, { maxRetries: 0 }));
    const later = ps.getRole(ROLE);
    await settle();
    expect(sent).toHaveLength(1);
    await clock.advance(60_000);
    await later;
    expect(sent).toHaveLength(2);
  });

  it("refuses at once, as a hold, what an answer's rate-limit headers say: none left until a reset past maxRetryAfterMs", async () => {
    const clock = manualClock();
    let sent = 0;
    const fetch: typeof globalThis.fetch = async () => {
      sent++;
      const headers = { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "3600" };
      return Response.json(roleFixture(), { headers });
    };
    const ps = createClient({ serviceToken: "id:secret", baseUrl: "https://api.test/v1", fetch, clock });
    await ps.getRole(ROLE);
    const error = await failure(ps.getRole(ROLE));
    expect(error).toBeInstanceOf(RateLimitError);
    expect((error as RateLimitError).retryAfterMs).toBe(3_600_000);
    expect(error.message).toMatch(/^get_role was not sent: the rate limit holds every call on it for another 3600 s/);
    expect(sent).toBe(1);
  });

  it("ends a call whose deadline passed at the gate with that attempt: waiting there spends no retry", async () => {
    const retried: number[] = [];
    const { ps, clock } = heldClient("10", { onRetry: ({ attempt }) => retried.push(attempt) });
    await failure(ps.getRole(ROLE, { maxRetries: 0 }));
    let settled = false;
    const later = failure(ps.getRole(ROLE, { timeoutMs: 2_000 })).finally(() => {
      settled = true;
    });
    await clock.advance(1_999);
    expect(settled).toBe(false);
    await clock.advance(1);
    // Not 2 000 ms again for each retry: the error names the call's one timeoutMs.
    expect(settled).toBe(true);
    expect(await later).toBeInstanceOf(TimeoutError);
    expect(retried).toEqual([]);
  });

  it("goes on waiting out its own 429 past one attempt's timeoutMs, within maxRetryAfterMs", async () => {
    const { ps, clock, sent } = heldClient("45", { timeoutMs: 30_000 });
    const call = ps.getRole(ROLE);
    await settle();
    expect(sent).toHaveLength(1);
    // The retry's attempt meets its deadline at the gate at 30 s; the call had a request out, and goes on.
    await clock.advance(44_999);
    expect(sent).toHaveLength(1);
    await clock.runAll();
    expect((await call).name).toBe(roleFixture().name);
    expect(sent).toHaveLength(2);
  });

  it("says nothing was sent when a repeatable call met its deadline at the gate", async () => {
    const { ps, clock, sent } = heldClient("30", { backoff: { baseMs: 5, maxMs: 5 } });
    await failure(ps.getRole(ROLE, { maxRetries: 0 }));
    let settled = false;
    const later = failure(ps.getRole(ROLE, { timeoutMs: 100, maxRetries: 2 })).finally(() => {
      settled = true;
    });
    for (let step = 0; step < 100 && !settled; step++) await clock.advance(10);
    const error = await later;
    expect(error).toBeInstanceOf(TimeoutError);
    // Its earlier attempts waited at the gate too: "it was not sent again" would say one went out.
    expect(error.message).toBe(
      "get_role timed out after 100 ms (timeoutMs) while waiting at the rate-limit gate; nothing was sent",
    );
    expect(sent).toHaveLength(1);
  });
});

describe("measured where the requests arrive", () => {
  const ROLE = { ...BRANCH, id: "role-1" };

  /** The requests that arrived, in order: the index of each. */
  let arrivals: number[];
  const server = serverForTests();

  beforeEach(() => {
    server.reset();
    arrivals = [];
  });

  /** Answers as `handler` does, noting when the request arrived. */
  const timed =
    (handler: Handler): Handler =>
    (request, res, socket) => {
      arrivals.push(arrivals.length);
      handler(request, res, socket);
    };

  const limited = (retryAfter?: string) =>
    timed(
      json(
        429,
        { code: "rate_limited", message: "slow down" },
        retryAfter === undefined ? {} : { "retry-after": retryAfter },
      ),
    );

  describe("Retry-After as the server wrote it", () => {
    it("reads an RFC 850 date with a two-digit year exactly 50 years ahead as the future (RFC 9110 §5.6.7)", async () => {
      const yy = String((new Date().getUTCFullYear() + 50) % 100).padStart(2, "0");
      server.next(limited(`Saturday, 01-Jan-${yy} 00:00:00 GMT`));
      const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 });
      const error = await failure(ps.getRole(ROLE));
      expect(error).toBeInstanceOf(RateLimitError);
      const fortyNineYearsMs = 49 * 365 * 24 * 3600 * 1000;
      expect((error as RateLimitError).retryAfterMs).toBeGreaterThan(fortyNineYearsMs);
    });

    it("waits a Retry-After equal to maxRetryAfterMs, then sends again", async () => {
      server.next(limited("1"), timed(json(200, roleFixture())));
      const clock = manualClock();
      const ps = createClient({
        serviceToken: "id:secret",
        baseUrl: server.url,
        maxRetries: 1,
        backoff: { maxRetryAfterMs: 1_000 },
        clock,
      });
      const call = ps.getRole(ROLE);
      await asleep(clock);
      await expectSentAgainAt(clock, 1_000, () => arrivals.length);
      await expect(call).resolves.toMatchObject({ id: "role-1" });
      expect(arrivals).toHaveLength(2);
      expect(clock.waits).toEqual([1_000]);
    });

    it("backs off after a 429 that gives no Retry-After, rather than sending again at once", async () => {
      server.next(limited(), timed(json(200, roleFixture())));
      const clock = manualClock();
      const ps = createClient({
        serviceToken: "id:secret",
        baseUrl: server.url,
        maxRetries: 1,
        backoff: { baseMs: 400, maxMs: 400 },
        clock,
      });
      const call = ps.getRole(ROLE);
      await asleep(clock);
      // Full jitter on the upper half: the first backoff is 200–400 ms.
      const [backoff = 0] = clock.waits;
      expect(backoff).toBeGreaterThanOrEqual(200);
      expect(backoff).toBeLessThanOrEqual(400);
      await expectSentAgainAt(clock, backoff, () => arrivals.length);
      await expect(call).resolves.toMatchObject({ id: "role-1" });
    });
  });

  describe("an abort while waiting to send again", () => {
    it("ends the call at once, says what it was waiting after, and leaves no timer behind", async () => {
      server.next(json(503, { code: "unavailable", message: "try later" }));
      const clock = manualClock();
      const ps = createClient({
        serviceToken: "id:secret",
        baseUrl: server.url,
        maxRetries: 1,
        backoff: { baseMs: 4_000, maxMs: 4_000 },
        clock,
      });
      const controller = new AbortController();
      const reason = new Error("shutting down");
      const call = failure(ps.getRole(ROLE, { signal: controller.signal }));
      // The 503 has been answered: the client is waiting its 2–4 s backoff.
      await asleep(clock);
      const aborted = clock.now();
      controller.abort(reason);
      const error = await call;
      expect(clock.now()).toBe(aborted);
      expect(error).toBeInstanceOf(AbortError);
      expect(error.message).toMatch(
        /^get_role was aborted while waiting to retry after: get_role failed: 503 unavailable/,
      );
      expect(error).toMatchObject({ operation: "get_role", outcomeUnknown: true, cause: reason });
      expect(server.requests).toHaveLength(1);
      // The backoff's wait was pending; the abort ended it rather than leaving it to run out.
      expect(clock.pending()).toBe(0);
    });

    it("ends the call at once when the signal fires as the failed answer arrives", async () => {
      server.next(json(503, { code: "unavailable", message: "try later" }));
      const controller = new AbortController();
      // The caller gives up at the moment the 503 comes in, before the client starts to wait.
      const abortOnAnswer: typeof fetch = async (input, init) => {
        const response = await fetch(input, init);
        controller.abort(new Error("gave up"));
        return response;
      };
      const clock = manualClock();
      const ps = createClient({
        serviceToken: "id:secret",
        baseUrl: server.url,
        fetch: abortOnAnswer,
        maxRetries: 1,
        backoff: { baseMs: 4_000, maxMs: 4_000 },
        clock,
      });
      const started = clock.now();
      // The clock never moves: a backoff begun despite the fired signal would leave the call hanging.
      const error = await failure(ps.getRole(ROLE, { signal: controller.signal }));
      expect(clock.now()).toBe(started);
      expect(clock.pending()).toBe(0);
      expect(error).toBeInstanceOf(AbortError);
      expect(error.message).toContain("was aborted while waiting to retry after");
      expect(server.requests).toHaveLength(1);
    });
  });
});

describe("on the client's clock", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });

  describe("429s with the gate turned off", () => {
    const ungated = (maxRetryAfterMs?: number, clock?: ManualClock) =>
      createClient({
        serviceToken: "id:secret",
        baseUrl: server.url,
        rateLimiter: false,
        backoff: { baseMs: 5, maxMs: 5, ...(maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs }) },
        ...(clock ? { clock } : {}),
      });
    const limited = (retryAfter?: string) =>
      json(429, { code: "too_many_requests", message: "slow down" }, retryAfter ? { "retry-after": retryAfter } : {});

    it("wait the Retry-After (plus at most a quarter of it) before the call is sent again", async () => {
      server.next(limited("1"));
      const clock = manualClock();
      const call = ungated(undefined, clock).getRole(ROLE);
      await asleep(clock);
      const [waited = 0] = clock.waits;
      expect(waited).toBeGreaterThanOrEqual(1_000);
      expect(waited).toBeLessThanOrEqual(1_250);
      await expectSentAgainAt(clock, waited, () => server.requests.length);
      await call;
      expect(server.requests).toHaveLength(2);
    });

    it("are not waited for past maxRetryAfterMs: the RateLimitError carries the wait", async () => {
      server.next(limited("2"));
      const error = await failure(ungated(1_999).getRole(ROLE));
      expect(error).toBeInstanceOf(RateLimitError);
      expect((error as RateLimitError).retryAfterMs).toBe(2_000);
      expect(server.requests).toHaveLength(1);
    });

    it("wait exactly a Retry-After equal to maxRetryAfterMs", async () => {
      server.next(limited("1"));
      const clock = manualClock();
      const call = ungated(1_000, clock).getRole(ROLE);
      await asleep(clock);
      await clock.runAll();
      await call;
      expect(server.requests).toHaveLength(2);
    });

    it("back off without a Retry-After", async () => {
      server.next(limited(), limited());
      const clock = manualClock();
      const call = ungated(undefined, clock).getRole(ROLE);
      for (const retry of [1, 2]) {
        await asleep(clock);
        // The 5 ms backoff (jitter on its upper half), not a Retry-After's seconds.
        const wait = clock.waits[retry - 1] ?? 0;
        expect(wait).toBeGreaterThanOrEqual(3);
        expect(wait).toBeLessThanOrEqual(5);
        await expectSentAgainAt(clock, wait, () => server.requests.length);
      }
      await call;
      expect(server.requests).toHaveLength(3);
    });
  });
});

describe("with fast backoff", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const FAST = { baseMs: 5, maxMs: 20 };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() =>
    createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 2 }),
  );

  describe("Retry-After", () => {
    const NOW = Date.UTC(2026, 10, 30, 6, 0, 0);

    it.each(["1.5", "-1", "+1", "1e3", "0x10", "soon", "2026-11-30T06:00:10Z", "Mon, 30 Nov 2026 06:00:10 +0000"])(
      "treats %j as unreadable, so the backoff applies",
      (value) => {
        expect(parseRetryAfter(value, NOW)).toBeUndefined();
      },
    );

    it("reads delay-seconds", () => {
      expect(parseRetryAfter("0", NOW)).toBe(0);
      expect(parseRetryAfter(" 12 ", NOW)).toBe(12_000);
    });

    it("reads the three HTTP-date forms of RFC 9110", () => {
      expect(parseRetryAfter("Mon, 30 Nov 2026 06:00:10 GMT", NOW)).toBe(10_000);
      expect(parseRetryAfter("Monday, 30-Nov-26 06:00:10 GMT", NOW)).toBe(10_000);
      expect(parseRetryAfter("Mon Nov 30 06:00:10 2026", NOW)).toBe(10_000);
      expect(parseRetryAfter("Mon Nov  2 06:00:10 2026", Date.UTC(2026, 10, 2, 6, 0, 0))).toBe(10_000);
    });

    it("counts a date in the past as no wait, and refuses impossible dates", () => {
      expect(parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", NOW)).toBe(0);
      expect(parseRetryAfter("Mon, 31 Nov 2026 06:00:10 GMT", NOW)).toBeUndefined();
      expect(parseRetryAfter("Mon, 30 Nov 2026 25:00:10 GMT", NOW)).toBeUndefined();
      expect(parseRetryAfter("Mon, 30 Foo 2026 06:00:10 GMT", NOW)).toBeUndefined();
    });

    it("reads a two-digit RFC 850 year as the most recent one not more than 50 years ahead", () => {
      expect(parseRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT", NOW)).toBe(0);
      expect(parseRetryAfter("Tuesday, 01-Dec-26 06:00:00 GMT", NOW)).toBe(24 * 3_600_000);
    });
  });

  describe("deletes after earlier failures", () => {
    it("reports a 404 as not found after a 429: only an attempt with an unknown outcome makes it done", async () => {
      server.next(
        json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "0" }),
        json(404, { code: "not_found", message: "no such role" }),
      );
      const error = await failure(ps.deleteRole(ROLE));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(server.requests).toHaveLength(2);
    });
  });
});

// decide's answer is data the loop in request.ts acts on: these read it directly.
describe("the decision after a failed attempt", () => {
  const settings = { ...defaultRetrySettings, random: () => 0.5 };
  const history = { attempt: 1, earlierOutcomeUnknown: false, gated: false, mayRecover: false, turns: 0 };
  const limited = (retryAfterMs?: number) => new RateLimitError("429", { status: 429, retryAfterMs });

  it("waits a Retry-After plus up to a quarter of it (at most a second) when no gate holds the call", () => {
    // Half of the jitter's range: a quarter of 2 s is 500 ms, half of that 250.
    expect(decide(limited(2_000), operationPolicy.create_role, history, settings)).toEqual({
      kind: "retry",
      delayMs: 2_250,
    });
    // A quarter of 8 s is more than a second: the jitter stays within a second.
    expect(decide(limited(8_000), operationPolicy.create_role, history, settings)).toEqual({
      kind: "retry",
      delayMs: 8_500,
    });
  });

  it("sends again at the gate's hold when a gate holds every call, and backs off without a Retry-After", () => {
    const gated = { ...history, gated: true, heldMs: 2_000 };
    expect(decide(limited(2_000), operationPolicy.get_role, gated, settings)).toEqual({
      kind: "retry",
      delayMs: 2_000,
      atGate: true,
    });
    expect(decide(limited(), operationPolicy.get_role, history, settings)).toEqual({
      kind: "retry",
      delayMs: backoffMs(1, settings),
    });
  });

  it("spends no retry on a 429 met while the call waited its turn (the gate counts the turns, up to twice maxRetries)", () => {
    const gated = { ...history, gated: true, heldMs: 2_000 };
    const retry = { kind: "retry", delayMs: 2_000, atGate: true };
    // maxRetries 2: five attempts, four of them in turn, spent one retry.
    expect(decide(limited(2_000), operationPolicy.get_role, { ...gated, attempt: 5, turns: 4 }, settings)).toEqual(
      retry,
    );
    // Four, one in turn: three retries spent.
    expect(decide(limited(2_000), operationPolicy.get_role, { ...gated, attempt: 4, turns: 1 }, settings)).toEqual({
      kind: "fail",
    });
  });

  it("sends again after a connection never made, and after a 5xx only where a repeat is harmless", () => {
    const notSent = new ConnectionError("refused", { requestSent: false });
    expect(decide(notSent, operationPolicy.create_role, history, settings)).toEqual({
      kind: "retry",
      delayMs: backoffMs(1, settings),
    });
    const busy = new ServerError("502", { status: 502, outcomeUnknown: true });
    expect(decide(busy, operationPolicy.get_role, history, settings)).toEqual({
      kind: "retry",
      delayMs: backoffMs(1, settings),
    });
    expect(decide(busy, operationPolicy.create_role, history, settings)).toEqual({ kind: "fail" });
  });

  it("recovers a create whose 2xx could not be used, but not one that was redirected", () => {
    const recovering = { ...history, mayRecover: true };
    const garbled = new UnexpectedResponseError("201", { status: 201, body: "{" });
    expect(decide(garbled, operationPolicy.create_role, recovering, settings)).toEqual({ kind: "recover" });
    const redirected = new UnexpectedResponseError("302", { status: 302, body: "" });
    expect(decide(redirected, operationPolicy.create_role, recovering, settings)).toEqual({ kind: "fail" });
  });
});

describe("429s met while a call waits its turn", () => {
  /** Creates at once from one client with default options, answered in memory 3 ms after they are sent, by `verdicts` in order (then `ok` for ever). */
  function concurrentCreates(
    count: number,
    verdicts: boolean[],
    options: { maxRetries?: number; rateLimiter?: false; maxConcurrency?: number } = {},
  ) {
    const clock = manualClock();
    let sent = 0;
    const shape: Shape = () => ((verdicts[sent++] ?? true) ? { ok: true } : { ok: false, retryAfter: "1" });
    const api = limitedApi(shape, clock.now);
    const fetch: typeof globalThis.fetch = async (input, init) => {
      await clock.sleep(3);
      return api.fetch(input, init);
    };
    const ps = createClient({ serviceToken: "a:b", baseUrl: "https://api.test/v1", fetch, clock, ...options });
    // Each call's error, or undefined for a call that created its role.
    const calls = Array.from({ length: count }, (_, i) =>
      ps.createRole({ ...BRANCH, name: `c${i}` }).then(
        () => undefined,
        (error: unknown) => error,
      ),
    );
    return { clock, api, calls };
  }

  it("spend no retry once the call waited at the gate and the budget let others through; those after a hold that let none through do", async () => {
    // Two places: c0 and c1 go at once and are accepted; c2 waits for a place (its turn), and the
    // budget runs out before it: no retry spent. Its two later 429s follow holds that let nothing
    // through: one retry each, the last ends it (maxRetries 1).
    const verdicts = [true, true, ...Array(10).fill(false)];
    const { clock, api, calls } = concurrentCreates(3, verdicts, { maxRetries: 1, maxConcurrency: 2 });
    await clock.runAll();
    const [first, second, third] = await Promise.all(calls);
    expect([first, second]).toEqual([undefined, undefined]);
    expect(third).toBeInstanceOf(RateLimitError);
    expect(api.limited).toBe(3);
  });

  it("spend one when the call went at once, the gate open: a 429 met without waiting is its own", async () => {
    // As above with three places: c2 goes at once, and its first 429 spends a retry.
    const verdicts = [true, true, ...Array(10).fill(false)];
    const { clock, api, calls } = concurrentCreates(3, verdicts, { maxRetries: 1, maxConcurrency: 3 });
    await clock.runAll();
    await Promise.all(calls);
    expect(api.limited).toBe(2);
  });

  it("each spend one when nothing got through: a server that refuses everything gets maxRetries + 1 from each", async () => {
    const { clock, api, calls } = concurrentCreates(4, Array(40).fill(false));
    await clock.runAll();
    const errors = await Promise.all(calls);
    expect(errors.every((error) => error instanceof RateLimitError)).toBe(true);
    expect(api.limited).toBe(4 * 3);
  });

  it("each spend one with the rate limiter turned off: nothing holds the calls together, so none waits a turn", async () => {
    // As two tests above, c2 waiting for a place: without a limiter its 429s are its own.
    const verdicts = [true, true, ...Array(10).fill(false)];
    const options = { maxRetries: 1, rateLimiter: false, maxConcurrency: 2 } as const;
    const { clock, api, calls } = concurrentCreates(3, verdicts, options);
    await clock.runAll();
    await Promise.all(calls);
    expect(api.limited).toBe(2);
  });

  it("spend one each when the caller asked for no retries", async () => {
    const { clock, api, calls } = concurrentCreates(3, [true, false, false], { maxRetries: 0 });
    await clock.runAll();
    const errors = await Promise.all(calls);
    expect(errors.slice(1).every((error) => error instanceof RateLimitError)).toBe(true);
    expect(api.limited).toBe(2);
  });
});
