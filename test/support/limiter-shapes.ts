// Rate limiters of the shapes a server may have, as functions of the time they are asked at: behind
// an in-memory create_role endpoint on a clock the test steers (the load check in npm test), and
// behind a socket on the real clock (rate-limited-server.ts, for bench/).
import { roleFixture } from "./fixtures.ts";

/** What the limiter says of one request: let it through or refuse it, with a Retry-After (or none) and any headers. */
export type Verdict = { ok: boolean; retryAfter?: string; headers?: Record<string, string> };
export type Shape = (now: number) => Verdict;

/** A shape a benchmark runs (bench/): the least time it lets every call through in, sending each the moment it may go, and the ratio to it that issue 18 asks for. */
export interface ShapeCase {
  name: string;
  shape: () => Shape;
  idealMs: number;
  target: number;
}

/** A bucket's ideal for `calls`: its burst at once, then the rest at the refill rate. */
export const bucketIdeal = (calls: number, burst: number, perSecond: number) =>
  (Math.max(0, calls - burst) / perSecond) * 1000;
/** A window's ideal for `calls`: a whole window's count at the start of each, so the last window is the one that ends it. */
export const windowIdeal = (calls: number, limit: number, windowMs: number) =>
  (Math.ceil(calls / limit) - 1) * windowMs;

/** A pause this long between accepted answers, after a 429, was a hold the callers waited out. */
export const WAITED_HOLD_MS = 500;

/**
 * `shape`, noting when it let requests through and refused them: `phases()` says where a run's time
 * went, from the limiter's side, as alternating stretches of sending (how many got through) and
 * holding (from the first 429 of a hold to the next request let through, with its Retry-After);
 * `holds()` how many holds the callers waited out.
 */
export function tracedShape(shape: Shape): { shape: Shape; phases(): string; holds(): number } {
  const seen: { at: number; ok: boolean; retryAfter?: string }[] = [];
  const traced: Shape = (now) => {
    const verdict = shape(now);
    seen.push({ at: now, ok: verdict.ok, ...(verdict.retryAfter ? { retryAfter: verdict.retryAfter } : {}) });
    return verdict;
  };
  const phases = () => {
    const origin = seen[0]?.at ?? 0;
    const ms = (at: number) => (at - origin).toFixed(0);
    const out: string[] = [];
    let [from, accepted, refused] = [origin, 0, 0];
    let holding = false;
    for (const { at, ok, retryAfter } of seen) {
      if (ok && holding) {
        out.push(`held to ${ms(at)} (${refused} 429s)`);
        [from, accepted, refused, holding] = [at, 0, 0, false];
      }
      if (!ok && !holding) {
        out.push(`sent ${accepted} in ${ms(from)}–${ms(at)}; 429 (Retry-After ${retryAfter ?? "none"})`);
        holding = true;
      }
      if (ok) accepted++;
      else refused++;
    }
    out.push(`sent ${accepted} in ${ms(from)}–${ms(seen.at(-1)?.at ?? origin)}`);
    return out.join("; ");
  };
  // Each pause of the accepted answers of WAITED_HOLD_MS with a 429 since the last one counted:
  // what a small bucket's whole-second Retry-After costs. Answers the refill let through early in a
  // hold (before or after its first 429s) do not hide it; a pause without a 429 (nothing asked) is none.
  const holds = () => {
    let [count, lastAccepted, refused] = [0, Number.NaN, false];
    for (const { at, ok } of seen) {
      if (!ok) refused = true;
      else {
        if (refused && at - lastAccepted >= WAITED_HOLD_MS) [count, refused] = [count + 1, false];
        lastAccepted = at;
      }
    }
    return count;
  };
  return { shape: traced, phases, holds };
}

/** Which rate-limit headers a shape adds to every answer, if any. */
export type HeaderStyle = "none" | "x-ratelimit" | "ietf";

/** A token bucket of `burst`, refilled at `perSecond`; Retry-After in whole seconds, or left out. */
export function tokenBucket(burst: number, perSecond: number, retryAfter: "seconds" | "none" = "seconds"): Shape {
  let tokens = burst;
  let last: number | undefined;
  return (now) => {
    tokens = Math.min(burst, tokens + ((now - (last ?? now)) / 1000) * perSecond);
    last = now;
    if (tokens >= 1) {
      tokens -= 1;
      return { ok: true };
    }
    const wait = Math.max(1, Math.ceil((1 - tokens) / perSecond));
    return retryAfter === "none" ? { ok: false } : { ok: false, retryAfter: String(wait) };
  };
}

/**
 * `limit` requests per fixed window of `windowMs`, counted as rack-attack does; Retry-After in whole
 * seconds to the window's end. Windows are counted from the first request, so that a run's ideal
 * does not depend on where in a window it began. `headers` adds what remains of the window to every answer.
 */
export function fixedWindow(limit: number, windowMs: number, headers: HeaderStyle = "none"): Shape {
  let origin: number | undefined;
  let window = -1;
  let used = 0;
  return (now) => {
    origin ??= now;
    const current = Math.floor((now - origin) / windowMs);
    if (current !== window) {
      window = current;
      used = 0;
    }
    const resetSeconds = Math.max(1, Math.ceil((origin + (current + 1) * windowMs - now) / 1000));
    const ok = used < limit;
    if (ok) used++;
    const told = rateLimitHeaders(headers, limit, limit - used, resetSeconds, windowMs / 1000);
    return ok ? { ok, headers: told } : { ok, retryAfter: String(resetSeconds), headers: told };
  };
}

function rateLimitHeaders(
  style: HeaderStyle,
  limit: number,
  remaining: number,
  resetSeconds: number,
  windowSeconds: number,
): Record<string, string> {
  if (style === "x-ratelimit") {
    return {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(resetSeconds),
    };
  }
  if (style === "ietf") {
    return {
      ratelimit: `"default";r=${remaining};t=${resetSeconds}`,
      "ratelimit-policy": `"default";q=${limit};w=${windowSeconds}`,
    };
  }
  return {};
}

/** The headers of the answer to a request the shape refused (429) or let through (a role). */
export function answerHeaders(verdict: Verdict): Record<string, string> {
  const headers: Record<string, string> = { "content-type": "application/json", ...verdict.headers };
  if (!verdict.ok && verdict.retryAfter) headers["retry-after"] = verdict.retryAfter;
  return headers;
}

export const TOO_MANY = JSON.stringify({ code: "too_many_requests", message: "rate limited" });

export interface LimitedApi {
  fetch: typeof fetch;
  /** Role names created, in order; a name twice is a duplicate create. */
  created: string[];
  limited: number;
}

/** create_role behind `shape`, answered in memory at the time `now()` says. */
export function limitedApi(shape: Shape, now: () => number): LimitedApi {
  const api: LimitedApi = {
    created: [],
    limited: 0,
    fetch: async (input, init) => {
      const request = new Request(input, init);
      const { name } = (await request.json()) as { name: string };
      const verdict = shape(now());
      const headers = answerHeaders(verdict);
      if (!verdict.ok) {
        api.limited++;
        return new Response(TOO_MANY, { status: 429, headers });
      }
      api.created.push(name);
      return new Response(JSON.stringify(roleFixture({ name, id: `role-${api.created.length}` })), { headers });
    },
  };
  return api;
}

/** A process's first stretch, when its round trips are slower (connections, JIT): `ms` long, answers `latencyMs` after they were sent. */
export interface ColdStart {
  ms: number;
  latencyMs: number;
}

/**
 * `calls` concurrent creates from a client with default options behind `shape`, on a clock the test
 * steers (each answer `latencyMs` after it was sent, or `cold.latencyMs` in the first `cold.ms`):
 * every result, what the API saw, and how long the whole took on that clock.
 */
export async function createAllBehind(shape: Shape, calls: number, latencyMs = 0, cold?: ColdStart) {
  const { createClient } = await import("../../src/index.ts");
  const { manualClock } = await import("./clock.ts");
  const { BRANCH } = await import("./fixtures.ts");
  const clock = manualClock();
  const api = limitedApi(shape, clock.now);
  const started = clock.now();
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const latency = cold && clock.now() - started < cold.ms ? cold.latencyMs : latencyMs;
    if (latency > 0) await clock.sleep(latency);
    return api.fetch(input, init);
  };
  const ps = createClient({ serviceToken: "a:b", baseUrl: "https://api.test/v1", fetch, clock });
  let done = false;
  const all = Promise.allSettled(
    Array.from({ length: calls }, (_, i) => ps.createRole({ ...BRANCH, name: `load-${i}` })),
  ).then((results) => {
    done = true;
    return results;
  });
  let tookMs = 0;
  void all.then(() => {
    tookMs = clock.now() - started;
  });
  for (let step = 0; !done && step < 100_000; step++) await clock.advance(1);
  return { results: await all, api, tookMs };
}
