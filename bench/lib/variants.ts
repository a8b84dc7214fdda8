// The two calls bench:overhead and bench:instructions compare: createRole, and the like-for-like
// baseline, openapi-fetch given a deadline per call (every createRole call has one).
import createFetchClient from "openapi-fetch";
import type { paths } from "../../src/generated/openapi.ts";
import { createClient } from "../../src/index.ts";

export const where = { organization: "acme", database: "app-db", branch: "main" };
export const payload = { name: "bench", ttl: 3600, inherited_roles: ["pg_read_all_data" as const] };
export const headers = { Authorization: "id:token", Accept: "application/json", "Content-Type": "application/json" };
// createRole's one argument, made once as the baseline's `where` and `payload` are: spreading the two
// on every call (`{ ...where, ...payload }`) cost the caller 2.4 µs a call in Node 20 (a spread
// followed by more properties leaves V8's fast path), which was counted against createRole.
export const params = { ...where, ...payload };

export function createRoleCalls(baseUrl: string, fetch: typeof globalThis.fetch = globalThis.fetch) {
  const ps = createClient({ serviceToken: "id:token", baseUrl, fetch });
  const bare = createFetchClient<paths>({ baseUrl, headers, fetch });
  return {
    "openapi-fetch + deadline": () =>
      bare.POST("/organizations/{organization}/databases/{database}/branches/{branch}/roles", {
        params: { path: where },
        body: payload,
        signal: AbortSignal.timeout(30_000),
      }),
    "planetscale-roles createRole": () => ps.createRole(params),
  } as Record<string, () => Promise<unknown>>;
}
