// A pg pool on a lease whose role has expired: each new connection reads lease.current(), which
// throws saying why, and the pool's connect fails with that error rather than crash or log in dead.
import { expect, it } from "vitest";
import type { PlanetScaleError } from "../src/index.ts";
import { createPool } from "../src/pg/pool.ts";
import { failure } from "./support/failure.ts";
import { leaseWorld } from "./support/lease.ts";

it("fails connect() and query() with current()'s error once the lease's role has expired", async () => {
  const { clock, fake, lease: open } = leaseWorld({ maxRetries: 0 });
  const lease = await open({ onError: () => {} });
  for (let fault = 0; fault < 50; fault++) fake.failNext("renew_role", { status: 500 });
  for (let fault = 0; fault < 50; fault++) fake.failNext("create_role", { status: 503 });
  await clock.advance(600_000);
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
