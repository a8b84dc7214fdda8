// What this file proves: how a call ends in time. timeoutMs as a TimeoutError, the caller's signal
// as an AbortError, each call's own deadline on the client's clock, a call that never left the gate,
// waits at the timer limit, and nothing left behind: no timer, socket or listener on the caller's signal.

import { execFile } from "node:child_process";
import { getEventListeners } from "node:events";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { sleep } from "../src/clock.ts";
import { AbortError, createClient, InvalidRequestError, TimeoutError } from "../src/index.ts";
import { type ManualClock, manualClock, settle, waitFor } from "./support/clock.ts";
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
    const clock = manualClock();
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, timeoutMs: 100, maxRetries: 0, clock });
    const sent = hanging.requests.length;
    const call = ps.getRole({ ...BRANCH, id: "r" }).catch((e: unknown) => e);
    await waitFor(() => hanging.requests.length > sent, "the request at the hanging server");
    await clock.advance(100);
    const error = await call;
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain("timed out after 100 ms");
  });

  it("ends a call whose signal fires in an AbortError, a different class", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, clock: manualClock() });
    const controller = new AbortController();
    const sent = hanging.requests.length;
    const call = ps.getRole({ ...BRANCH, id: "r" }, { signal: controller.signal }).catch((e: unknown) => e);
    // Fired while the request is out, as a shutdown would; the clock never moves, so no deadline can.
    await waitFor(() => hanging.requests.length > sent, "the request at the hanging server");
    controller.abort(new Error("shutting down"));
    const error = await call;
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

  it("cancels a body's stream cut by the deadline, with the deadline's reason, though the fetch did not tie it to the signal", async () => {
    let cancelled: unknown = "not cancelled";
    const stalled: typeof fetch = async () => {
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => controller.enqueue(new TextEncoder().encode('{"id":')),
        cancel: (reason) => {
          cancelled = reason;
        },
      });
      return new Response(body, { status: 200, headers: { "content-type": "application/json" } });
    };
    const clock = manualClock();
    const ps = createClient({ serviceToken: "id:secret", baseUrl: "https://api.test/v1", fetch: stalled, clock });
    const call = failure(ps.getRole({ ...BRANCH, id: "r" }, { timeoutMs: 100, maxRetries: 0 }));
    await clock.advance(100);
    expect(await call).toBeInstanceOf(TimeoutError);
    expect(cancelled).toBeInstanceOf(DOMException);
    expect(cancelled).toMatchObject({ name: "TimeoutError" });
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

  beforeAll(async () => {
    hanging = await startServer(hang);
  });

  afterAll(() => hanging.close());

  /** A client with one place, whose first call holds it at the hanging server until `clock` passes 400 ms. */
  async function placeTaken(clock: ManualClock) {
    const ps = createClient({
      serviceToken: "id:secret",
      baseUrl: hanging.url,
      maxConcurrency: 1,
      maxRetries: 0,
      clock,
    });
    const sent = hanging.requests.length;
    const first = failure(ps.getRole(ROLE, { timeoutMs: 400 }));
    await waitFor(() => hanging.requests.length > sent, "the first call at the hanging server");
    return { ps, first };
  }

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
      const clock = manualClock();
      const { ps, first } = await placeTaken(clock);
      const controller = new AbortController();
      const second = failure(ps.getRole(ROLE, { signal: controller.signal }));
      await settle();
      controller.abort();
      const error = await second;
      expect(error).toBeInstanceOf(AbortError);
      expect(error.message).toBe(
        "get_role was aborted by the caller's signal while waiting at the rate-limit gate; nothing was sent",
      );
      expect(error.outcomeUnknown).toBe(false);
      await clock.advance(400);
      await first;
    });

    it("says it was not sent again when a retry after a 429 meets its deadline at the gate", async () => {
      // Its retry waits its own 5 s hold beside its timeoutMs (100 ms); another call's 429 holds the
      // gate for 30 s, and the retry's deadline passes there, at 5.1 s.
      const clock = manualClock();
      const sent: string[] = [];
      const fetch: typeof globalThis.fetch = async (input, init) => {
        const { name } = (await new Request(input, init).json()) as { name: string };
        sent.push(name);
        const retryAfter = name === "ci" ? "5" : "30";
        return new Response("{}", { status: 429, headers: { "retry-after": retryAfter } });
      };
      const ps = createClient({ serviceToken: "id:secret", baseUrl: "https://api.test/v1", fetch, clock });
      const call = failure(ps.createRole({ ...BRANCH, name: "ci" }, { timeoutMs: 100 }));
      const other = failure(ps.createRole({ ...BRANCH, name: "other" }, { maxRetries: 0 }));
      await settle();
      await clock.advance(5_100);
      const error = await call;
      await other;
      expect(sent).toEqual(["ci", "other"]);
      expect(error).toBeInstanceOf(TimeoutError);
      // One request went out and was refused unseen: "nothing was sent" would be false.
      expect(error.message).toBe(
        "create_role timed out after 100 ms (timeoutMs) while waiting at the rate-limit gate; it was not sent again",
      );
      expect(error.outcomeUnknown).toBe(false);
    });

    it("says so when its deadline passes while it waits for a place", async () => {
      const clock = manualClock();
      const { ps, first } = await placeTaken(clock);
      const second = failure(ps.getRole(ROLE, { timeoutMs: 100 }));
      await clock.advance(100);
      const error = await second;
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toBe(
        "get_role timed out after 100 ms (timeoutMs) while waiting at the rate-limit gate; nothing was sent",
      );
      expect(error.outcomeUnknown).toBe(false);
      await clock.advance(300);
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
      // The real clock's own timer, on fake timers, which fire at once past the limit as Node does.
      vi.useFakeTimers();
      try {
        const controller = new AbortController();
        let settled = false;
        const waiting = sleep(2 ** 31 + 5_000, controller.signal).then(
          () => {
            settled = true;
          },
          () => {},
        );
        await vi.advanceTimersByTimeAsync(60);
        expect(settled).toBe(false);
        controller.abort();
        await waiting;
      } finally {
        vi.useRealTimers();
      }
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

  describe("the real clock's deadline", () => {
    it("keeps no timer once a call has ended, however long its timeoutMs", async () => {
      // Fake timers see the real clock's timers, unref'd ones too: each call's deadline must be
      // cleared when it ends, not left to run out (20,000 calls would hold 20,000 for timeoutMs).
      vi.useFakeTimers();
      try {
        const client = createClient({ serviceToken: "id:secret", baseUrl: server.url, fetch: answeringFetch() });
        await Promise.all(Array.from({ length: 20 }, () => client.getRole(ROLE, { timeoutMs: 600_000 })));
        await expect(client.getRole(ROLE, { timeoutMs: 600_000 })).resolves.toMatchObject({ id: "role-1" });
        expect(vi.getTimerCount()).toBe(0);
      } finally {
        vi.useRealTimers();
      }
    });

    const child = (mode: string, flags: string[] = []) =>
      new Promise<string>((resolve, reject) => {
        const script = path.join(ROOT, "test/support/deadline-child.ts");
        execFile(
          process.execPath,
          [...flags, "--import", "tsx", script, mode],
          { cwd: ROOT, timeout: 60_000 },
          (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout.trim()),
        );
      });

    it("leaves no call's deadline on the heap when calls share a signal that never fires", async () => {
      // Node keeps a joined signal with a listener alive as long as its sources: 6 kB a call before.
      const bytesPerCall = Number(await child("memory", ["--expose-gc"]));
      expect(bytesPerCall).toBeLessThan(1_000);
    });

    it("keeps the process alive until a call ends, even when its fetch holds nothing open", async () => {
      expect(await child("deaf")).toBe("TimeoutError");
    });

    it("still ends a call whose fetch never answers, and one whose caller aborts first", async () => {
      const deaf: typeof fetch = () => new Promise(() => {});
      const client = createClient({ serviceToken: "id:secret", baseUrl: server.url, fetch: deaf, maxRetries: 0 });
      expect(await failure(client.getRole(ROLE, { timeoutMs: 20 }))).toBeInstanceOf(TimeoutError);
      const controller = new AbortController();
      const aborted = failure(client.getRole(ROLE, { timeoutMs: 600_000, signal: controller.signal }));
      controller.abort();
      expect(await aborted).toBeInstanceOf(AbortError);
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
        let allInFlight: () => void = () => {};
        const firstAttemptsIn = new Promise<void>((resolve) => {
          allInFlight = resolve;
        });
        const slowThenFine: typeof fetch = async (input) => {
          calls++;
          if (calls === 50) allInFlight();
          if (calls > 50) return answeringFetch(200)(input);
          // Every first attempt is held until all 50 are in flight, then answers 503, so 50 calls
          // wait together to retry (a busy machine can start some late: none may retry before).
          await firstAttemptsIn;
          return answeringFetch(503)(input);
        };
        // The real clock: its sleep is what keeps listeners off the shared signal.
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
