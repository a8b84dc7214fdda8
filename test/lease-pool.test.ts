// A pg pool on a lease, where the lease's role is no longer what the server has: it expired (each
// new connection reads lease.current(), which throws saying why, and connect fails with that), or
// it was deleted on the server (the refused login makes the lease check it now, and replace it).
import { afterAll, beforeAll, expect, it } from "vitest";
import { createClient, type PlanetScaleError } from "../src/index.ts";
import { leaseRole } from "../src/lease.ts";
import { createPool } from "../src/pg/pool.ts";
import { createFakePlanetScale, type FakePlanetScale } from "../src/testing/index.ts";
import { manualClock } from "./support/clock.ts";
import { failure } from "./support/failure.ts";
import { BRANCH } from "./support/fixtures.ts";
import { leaseWorld } from "./support/lease.ts";
import { type PostgresServer, startPostgres } from "./support/postgres.ts";

let server: PostgresServer;
let fake: FakePlanetScale;
// Postgres checks VALID UNTIL against real time: the fake's clock starts there.
const clock = manualClock(Date.now());

beforeAll(async () => {
  server = await startPostgres();
  fake = createFakePlanetScale({ postgres: server.url, now: () => new Date(clock.now()) });
});
afterAll(async () => {
  await fake?.close();
  await server?.stop();
});

it("fails connect() and query() with current()'s error once the lease's role has expired", async () => {
  const world = leaseWorld({ maxRetries: 0 });
  const lease = await world.lease({ onError: () => {} });
  for (let fault = 0; fault < 50; fault++) world.fake.failNext("renew_role", { status: 500 });
  for (let fault = 0; fault < 50; fault++) world.fake.failNext("create_role", { status: 503 });
  await world.clock.advance(600_000);
  // Nothing listens there: a pool that tried to log in would fail otherwise.
  const pool = createPool(lease, { host: "127.0.0.1", port: 9, ssl: false, max: 1 });
  try {
    const connecting: PlanetScaleError = await failure(pool.connect());
    expect(connecting.message).toContain("on acme/app-db/main expired at 2026-12-01T12:10:00.000Z");
    expect((await failure(pool.query("select 1"))).message).toBe(connecting.message);
  } finally {
    await pool.end();
    await lease.close();
  }
});

it("logs in again at once when the lease's role was deleted on the server: the refused login makes the lease check it", async () => {
  const ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken, clock });
  const params = { ...BRANCH, name: "gone", ttl: 3600, inherited_roles: ["pg_read_all_data" as const] };
  const lease = await leaseRole({ client: ps, clock, random: () => 0.5 }, params, { onError: () => {} });
  const made = lease.current();
  const pool = createPool(lease, { ssl: false, max: 1, idleTimeoutMillis: 1 });
  try {
    await ps.deleteRole({ ...BRANCH, id: made.id });
    // Nothing was due: only the refused login tells the lease its role is gone.
    const { rows } = await pool.query<{ user: string }>("select current_user as user");
    expect(rows[0]?.user).not.toBe(made.username);
    expect(rows[0]?.user).toBe(lease.current().username);
    expect(fake.roles().map((role) => role.id)).toEqual([lease.current().id]);
  } finally {
    await pool.end();
    await lease.close();
  }
});
