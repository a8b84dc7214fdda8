// A lease's world for tests: the in-memory fake on a clock the test steers, a client on both, and
// a count of the roles alive after every request the fake answered (the only moments its state changes).
import { type ClientOptions, createClient, type PlanetScaleClient } from "../../src/index.ts";
import { type Lease, type LeaseOptions, leaseRole } from "../../src/lease.ts";
import { createFakePlanetScale, type FakePlanetScale } from "../../src/testing/index.ts";
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
}

interface FakeRequestLike {
  operation: string | undefined;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

/** `clientOptions` may be made from the world's clock (a rate limiter that holds on it, for instance). */
export function leaseWorld(clientOptions: ClientOptions | ((clock: ManualClock) => ClientOptions) = {}): LeaseWorld {
  const clock = manualClock();
  const extra = typeof clientOptions === "function" ? clientOptions(clock) : clientOptions;
  const fake = createFakePlanetScale({ now: () => new Date(clock.now()) });
  let mostAlive = 0;
  const counted: typeof fetch = async (input, init) => {
    try {
      return await fake.fetch(input, init);
    } finally {
      mostAlive = Math.max(mostAlive, fake.roles().length);
    }
  };
  const ps = createClient({ serviceToken: fake.serviceToken, baseUrl: fake.baseUrl, fetch: counted, clock, ...extra });
  return {
    clock,
    fake,
    ps,
    mostAlive: () => mostAlive,
    lease: (options, params = API_ROLE, random = () => 0.5) =>
      leaseRole({ client: ps, clock, random }, params, options),
    sent: (operation) => fake.requests.filter((request) => request.operation === operation),
  };
}

/** Milliseconds from now until `expires_at`. */
export function remaining(clock: ManualClock, role: { expires_at: string | null }): number {
  return Date.parse(role.expires_at ?? "") - clock.now();
}
