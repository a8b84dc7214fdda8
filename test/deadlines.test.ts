// What this file proves: how a call ends in time. timeoutMs as a TimeoutError, the caller's signal
// as an AbortError, each call's own deadline on the client's clock, a call that never left the gate,
// waits at the timer limit, and nothing left behind: no timer, socket or listener on the caller's signal.

import { execFile } from "node:child_process";
import { getEventListeners } from "node:events";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleep } from "../src/clock.ts";
import { AbortError, createClient, InvalidRequestError, TimeoutError } from "../src/index.ts";
import { manualClock, waitFor } from "./support/clock.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { clientForTests, serverForTests } from "./support/per-test.ts";
import { ROOT } from "./support/run.ts";
import { hang, json, startServer, type TestServer } from "./support/servers.ts";

let hanging: TestServer;
let answering: TestServer;

beforeAll(async () => {
  hanging = await startServer(hang);
  answering = await startServer(json(200, roleFixture()));
});

afterAll(async () => {
  await hanging.close();
  await answering.close();
});

describe("timeouts and aborts", () => {
  it("ends an attempt that passes timeoutMs in a TimeoutError", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, timeoutMs: 100, maxRetries: 0 });
    const error = await ps.getRole({ ...BRANCH, id: "r" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain("timed out after 100 ms");
  });

  it("ends a call whose signal fires in an AbortError, a different class", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("shutting down")), 50);
    const error = await ps.getRole({ ...BRANCH, id: "r" }, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect(error).not.toBeInstanceOf(TimeoutError);
    expect((error as AbortError).cause).toEqual(new Error("shutting down"));
  });

  it("sends nothing when the signal has already fired", async () => {
    const before = answering.requests.length;
    const ps = createClient({ serviceToken: "id:secret", baseUrl: answering.url });
    await expect(ps.createRole(BRANCH, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(answering.requests.length).toBe(before);
  });

  it("leaves no timer or socket behind: a process that timed out, aborted and succeeded exits by itself", async () => {
    const child = path.join(ROOT, "test/support/timeout-child.ts");
    const started = Date.now();
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", child, hanging.url, answering.url],
        { cwd: ROOT, timeout: 15_000 },
        (error, out) => resolve({ code: error ? ((error.code as number | null) ?? null) : 0, stdout: out }),
      );
    });
    expect(stdout.trim()).toBe("TimeoutError AbortError ok");
    expect(code).toBe(0);
    // The client's default deadline is 30 s: a timer left running would hold the process that long.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

describe("on the client's clock", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  let hanging: TestServer;
  const _server = serverForTests({ reset: true });

  beforeAll(async () => {
    hanging = await startServer(hang);
  });

  afterAll(() => hanging.close());

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  describe("deadlines on the client's clock", () => {
    it("fire when the clock reaches timeoutMs, not before", async () => {
      const clock = manualClock();
      const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, maxRetries: 0, clock });
      let settled = false;
      const stuck = failure(ps.getRole(ROLE, { timeoutMs: 300 })).finally(() => {
        settled = true;
      });
      await waitFor(() => hanging.requests.length === 1);
      await clock.advance(299);
      expect(settled).toBe(false);
      await clock.advance(1);
      const error = await stuck;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error?.message).toBe("get_role timed out after 300 ms (timeoutMs)");
    });

    it("are each call's own: a later call's deadline neither ends nor extends an earlier one", async () => {
      const clock = manualClock();
      const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, maxRetries: 0, clock });
      const first = failure(ps.getRole(ROLE, { timeoutMs: 300 }));
      await waitFor(() => hanging.requests.length === 1);
      await clock.advance(200);
      const second = failure(ps.getRole(ROLE, { timeoutMs: 300 }));
      await waitFor(() => hanging.requests.length === 2);
      await clock.advance(100);
      expect(await first).toBeInstanceOf(TimeoutError);
      let secondSettled = false;
      void second.finally(() => {
        secondSettled = true;
      });
      await clock.advance(199);
      expect(secondSettled).toBe(false);
      await clock.advance(1);
      expect(await second).toBeInstanceOf(TimeoutError);
    });
  });

  describe("a call that never left the gate", () => {
    it("says so when its signal fires while it waits for a place", async () => {
      const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, maxConcurrency: 1, maxRetries: 0 });
      const first = failure(ps.getRole(ROLE, { timeoutMs: 400 }));
      const controller = new AbortController();
      const second = failure(ps.getRole(ROLE, { signal: controller.signal }));
      await pause(30);
      controller.abort();
      const error = await second;
      expect(error).toBeInstanceOf(AbortError);
      expect(error.message).toBe(
        "get_role was aborted by the caller's signal while waiting at the rate-limit gate; nothing was sent",
      );
      expect(error.outcomeUnknown).toBe(false);
      await first;
    });

    it("says so when its deadline passes while it waits for a place", async () => {
      const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, maxConcurrency: 1, maxRetries: 0 });
      const first = failure(ps.getRole(ROLE, { timeoutMs: 400 }));
      const error = await failure(ps.getRole(ROLE, { timeoutMs: 100 }));
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toBe(
        "get_role timed out after 100 ms (timeoutMs) while waiting at the rate-limit gate; nothing was sent",
      );
      expect(error.outcomeUnknown).toBe(false);
      await first;
    });
  });
});

describe("limits and listeners", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const FAST = { baseMs: 5, maxMs: 20 };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() =>
    createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 2 }),
  );

  /** A fetch that answers every call at once, without a network: for counting what the client does per call. */
  function answeringFetch(status = 200, body: unknown = roleFixture()): typeof fetch {
    return async () => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  }

  describe("timer limits", () => {
    const LIMIT = 2 ** 31 - 1;

    it.each([
      ["timeoutMs", { timeoutMs: 2 ** 31 }],
      ["backoff.baseMs", { backoff: { baseMs: 2 ** 31 } }],
      ["backoff.maxMs", { backoff: { maxMs: 2 ** 31 } }],
      ["backoff.maxRetryAfterMs", { backoff: { maxRetryAfterMs: 2 ** 32 } }],
    ])("refuses a client %s past the timer limit, naming the field and the limit", (field, options) => {
      let error: unknown;
      try {
        createClient({ serviceToken: "id:secret", baseUrl: server.url, ...options });
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ field });
      expect((error as Error).message).toContain(String(LIMIT));
    });

    it("accepts the limit itself", () => {
      expect(() =>
        createClient({ serviceToken: "id:secret", baseUrl: server.url, timeoutMs: LIMIT, backoff: { maxMs: LIMIT } }),
      ).not.toThrow();
    });

    it("refuses a per-call timeoutMs past the limit before sending", async () => {
      const error = await failure(ps.getRole(ROLE, { timeoutMs: 2 ** 31 }));
      expect(error).toMatchObject({ name: "InvalidRequestError", field: "timeoutMs" });
      expect(server.requests).toHaveLength(0);
    });

    it("never turns a wait past the limit into an immediate one", async () => {
      const controller = new AbortController();
      let settled = false;
      const waiting = sleep(2 ** 31 + 5_000, controller.signal).then(
        () => {
          settled = true;
        },
        () => {},
      );
      await new Promise((resolve) => setTimeout(resolve, 60));
      expect(settled).toBe(false);
      controller.abort();
      await waiting;
    });

    it("does not wait for a Retry-After beyond the timer limit: the RateLimitError carries it", async () => {
      const limited = createClient({
        serviceToken: "id:secret",
        baseUrl: server.url,
        backoff: { maxRetryAfterMs: LIMIT },
        maxRetries: 2,
      });
      server.next(json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "2147484" }));
      const error = await failure(limited.getRole(ROLE));
      expect(error?.name).toBe("RateLimitError");
      expect(error).toMatchObject({ retryAfterMs: 2_147_484_000 });
      expect(server.requests).toHaveLength(1);
    });
  });

  describe("listeners on the caller's signal", () => {
    it("are all gone after 10,000 calls that shared one long-lived signal", async () => {
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on("warning", onWarning);
      try {
        const client = createClient({ serviceToken: "id:secret", baseUrl: server.url, fetch: answeringFetch() });
        const signal = new AbortController().signal;
        for (let batch = 0; batch < 100; batch++) {
          await Promise.all(Array.from({ length: 100 }, () => client.getRole(ROLE, { signal })));
        }
        expect(getEventListeners(signal, "abort")).toHaveLength(0);
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(warnings.map((warning) => warning.name)).not.toContain("MaxListenersExceededWarning");
      } finally {
        process.off("warning", onWarning);
      }
    });

    it("do not pile up past Node's warning limit when many calls share a signal, in flight or waiting to retry", async () => {
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on("warning", onWarning);
      try {
        let calls = 0;
        const slowThenFine: typeof fetch = async (input) => {
          calls++;
          await new Promise((resolve) => setTimeout(resolve, 30));
          // Every first attempt answers 503, so 50 calls wait together to retry.
          const status = calls <= 50 ? 503 : 200;
          return answeringFetch(status)(input);
        };
        const client = createClient({
          serviceToken: "id:secret",
          baseUrl: server.url,
          fetch: slowThenFine,
          backoff: { baseMs: 40, maxMs: 40 },
          maxConcurrency: 100,
        });
        const signal = new AbortController().signal;
        await Promise.all(Array.from({ length: 50 }, () => client.getRole(ROLE, { signal })));
        expect(calls).toBe(100);
        await new Promise((resolve) => setTimeout(resolve, 10));
        expect(warnings.map((warning) => warning.name)).not.toContain("MaxListenersExceededWarning");
        expect(getEventListeners(signal, "abort")).toHaveLength(0);
      } finally {
        process.off("warning", onWarning);
      }
    });
  });
});

describe("at the timer limit", () => {
  const TOKEN = "pscale_tkn_Outsider-Secret-7";
  const ROLE = { ...BRANCH, id: "role-1" };
  const _server = serverForTests({ reset: true });

  describe("deadlines", () => {
    it("at the timer limit do not fire at once", async () => {
      const hanging = await startServer(() => {});
      try {
        const client = createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: hanging.url, maxRetries: 0 });
        const controller = new AbortController();
        const calls = [0, 1, 3, 5].map((less) =>
          failure(client.getRole(ROLE, { timeoutMs: 2 ** 31 - 1 - less, signal: controller.signal })),
        );
        await new Promise((resolve) => setTimeout(resolve, 100));
        controller.abort();
        const errors = await Promise.all(calls);
        expect(errors.map((error) => error?.name)).toEqual(["AbortError", "AbortError", "AbortError", "AbortError"]);
      } finally {
        await hanging.close();
      }
    });
  });
});
