// A server scripted in memory on a steered clock: each request is answered as `script` says
// (200 with a role, 429 with or without Retry-After, 500, a connection reset after sending, a
// connection refused before it, or no answer until the attempt's deadline), and counted by role
// name (a create's body name, else "<METHOD> <path>").
import type { ManualClock } from "./clock.ts";
import { settle } from "./clock.ts";
import { roleFixture } from "./fixtures.ts";

/** What the scripted server does with one request. */
export type Answer =
  | { status: 200 }
  | { status: 429; retryAfter?: string }
  | { status: 500 }
  | { status: "reset" } // the request was written, the connection then dropped
  | { status: "refused" } // nothing was written
  | { status: "hang" }; // never answers (the attempt's deadline ends it)

export interface Seen {
  name: string;
  /** This name's request number, from 1. */
  nth: number;
  /** Every request so far, from 1. */
  total: number;
  now: number;
  /** The method and path, e.g. "POST /organizations/acme/.../roles". */
  method: string;
}

export function scripted(clock: ManualClock, script: (seen: Seen) => Answer, latencyMs = 10) {
  const perName = new Map<string, number>();
  const log: { name: string; at: number; answer: Answer["status"] }[] = [];
  let total = 0;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = input instanceof Request ? input : new Request(input, init);
    const text = await request.clone().text();
    const body = (text ? JSON.parse(text) : {}) as { name?: string };
    const name = body.name ?? `${request.method} ${new URL(request.url).pathname}`;
    const nth = (perName.get(name) ?? 0) + 1;
    perName.set(name, nth);
    total++;
    const answer = script({ name, nth, total, now: clock.now(), method: request.method });
    log.push({ name, at: clock.now(), answer: answer.status });
    const signal = init?.signal ?? request.signal;
    if (answer.status === "refused") {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }),
      });
    }
    if (answer.status === "hang") {
      await new Promise((_, reject) => {
        if (signal?.aborted) reject(signal.reason);
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      });
    }
    if (latencyMs > 0) await clock.sleep(latencyMs, signal ?? undefined);
    if (answer.status === "reset") {
      throw new TypeError("fetch failed", {
        cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
      });
    }
    const headers: Record<string, string> = { "content-type": "application/json", "x-request-id": `${name}#${nth}` };
    if (answer.status === 429) {
      if (answer.retryAfter !== undefined) headers["retry-after"] = answer.retryAfter;
      return new Response(JSON.stringify({ code: "too_many_requests", message: "rate limited" }), {
        status: 429,
        headers,
      });
    }
    if (answer.status === 500) {
      return new Response(JSON.stringify({ code: "internal", message: "boom" }), { status: 500, headers });
    }
    return new Response(JSON.stringify(roleFixture({ name, id: `role-${total}` })), { headers });
  };
  return { fetch, perName, log, requests: () => total };
}

/** Runs `calls` to the end on the steered clock, in steps of `stepMs`, at most `limitMs` of steered time. */
export async function runAll<T>(clock: ManualClock, calls: Promise<T>[], limitMs = 3_600_000, stepMs = 5) {
  const started = clock.now();
  let done = false;
  const all = Promise.allSettled(calls).then((results) => {
    done = true;
    return results;
  });
  while (!done && clock.now() - started < limitMs) await clock.advance(stepMs);
  await settle();
  return { done, tookMs: clock.now() - started, results: done ? await all : [] };
}
