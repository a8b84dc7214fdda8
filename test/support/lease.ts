// A lease's world for tests: the in-memory fake on a clock the test steers, a client on both, and
// a count of the roles alive after every request the fake answered (the only moments its state changes).
import { type ClientOptions, createClient, type PlanetScaleClient } from "../../src/index.ts";
import { type Lease, type LeaseOptions, leaseRole } from "../../src/lease.ts";
import { createFakePlanetScale, type FakePlanetScale } from "../../src/testing/index.ts";
import { matchRoute } from "../../src/testing/routes.ts";
import type { CreateRoleParams } from "../../src/types.ts";
import { type ManualClock, manualClock } from "./clock.ts";
import { BRANCH } from "./fixtures.ts";

export const MINUTE = 60_000;
export const DAY = 24 * 60 * MINUTE;

/** A 10-minute role reading everything: the lease's params in most tests. */
export const API_ROLE: CreateRoleParams = { ...BRANCH, name: "api", ttl: 600, inherited_roles: ["pg_read_all_data"] };

export interface LeaseWorld {
  clock: ManualClock;
  fake: FakePlanetScale;
  ps: PlanetScaleClient;
  /** The most roles alive on the fake at once, so far, checked after every request. */
  mostAlive(): number;
  /** A lease with jitter from `random` (default: the middle of its range), so that times are exact. */
  lease(options?: LeaseOptions, params?: CreateRoleParams, random?: () => number): Promise<Lease>;
  /** The requests the fake received for `operation`. */
  sent(operation: string): FakeRequestLike[];
  /** When each request for `operation` was sent, in ms since the world began (when the lease opened, in most tests). */
  sentAt(operation: string): number[];
  /** From now on, the 200 answers of create_role or renew_role pass through `change` (a server with limits of its own). */
  edit(operation: "create_role" | "renew_role", change: Edit): void;
}

/** Changes an answer; may take its time, to hold the answer back (while the test closes the lease, say). */
type Edit = (role: Record<string, unknown>) => Record<string, unknown> | Promise<Record<string, unknown>>;

interface FakeRequestLike {
  operation: string | undefined;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export function leaseWorld(clientOptions: ClientOptions = {}): LeaseWorld {
  const clock = manualClock();
  const began = clock.now();
  const fake = createFakePlanetScale({ now: () => new Date(clock.now()) });
  let mostAlive = 0;
  const edits = new Map<string, Edit>();
  const sentTimes: { operation: string | undefined; at: number }[] = [];
  const counted: typeof fetch = async (input, init) => {
    const method = (input instanceof Request ? input.method : init?.method) ?? "GET";
    const url = new URL(input instanceof Request ? input.url : String(input));
    const operation = matchRoute(method, url.pathname.slice(new URL(fake.baseUrl).pathname.length))?.operation;
    sentTimes.push({ operation, at: clock.now() - began });
    let response: Response;
    try {
      response = await fake.fetch(input, init);
    } finally {
      mostAlive = Math.max(mostAlive, fake.roles().length);
    }
    const change = operation && edits.get(operation);
    if (!change || response.status !== 200) return response;
    return Response.json(await change(await response.json()), { headers: response.headers });
  };
  const ps = createClient({
    serviceToken: fake.serviceToken,
    baseUrl: fake.baseUrl,
    fetch: counted,
    clock,
    ...clientOptions,
  });
  return {
    clock,
    fake,
    ps,
    mostAlive: () => mostAlive,
    lease: (options, params = API_ROLE, random = () => 0.5) =>
      leaseRole({ client: ps, clock, random }, params, options),
    sent: (operation) => fake.requests.filter((request) => request.operation === operation),
    sentAt: (operation) => sentTimes.filter((sent) => sent.operation === operation).map((sent) => sent.at),
    edit: (operation, change) => {
      edits.set(operation, change);
    },
  };
}

/** Milliseconds from now until `expires_at`. */
export function remaining(clock: ManualClock, role: { expires_at: string | null }): number {
  return Date.parse(role.expires_at ?? "") - clock.now();
}
