// Rate limiters of the shapes a server may have, on a clock the test steers, behind an in-memory
// create_role endpoint: for the load check in npm test (bench/ measures the same shapes on sockets).
import { roleFixture } from "./fixtures.ts";

/** What the limiter says of one request at `now`: let it through, or refuse it with a Retry-After (or none). */
export type Shape = (now: number) => { ok: true } | { ok: false; retryAfter?: string };

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

/** `limit` requests per fixed window of `windowMs`, counted as rack-attack does; Retry-After to the window's end. */
export function fixedWindow(limit: number, windowMs: number): Shape {
  let window = -1;
  let used = 0;
  return (now) => {
    const current = Math.floor(now / windowMs);
    if (current !== window) {
      window = current;
      used = 0;
    }
    if (used < limit) {
      used++;
      return { ok: true };
    }
    return { ok: false, retryAfter: String(Math.max(1, Math.ceil(((current + 1) * windowMs - now) / 1000))) };
  };
}

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
    fetch: async (input) => {
      const request = input as Request;
      const { name } = (await request.json()) as { name: string };
      const verdict = shape(now());
      if (!verdict.ok) {
        api.limited++;
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (verdict.retryAfter) headers["retry-after"] = verdict.retryAfter;
        return new Response(JSON.stringify({ code: "too_many_requests", message: "rate limited" }), {
          status: 429,
          headers,
        });
      }
      api.created.push(name);
      const role = roleFixture({ name, id: `role-${api.created.length}` });
      return new Response(JSON.stringify(role), { headers: { "content-type": "application/json" } });
    },
  };
  return api;
}
