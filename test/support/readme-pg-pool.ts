// The README's "Connecting with pg" example, for the type checker (npm run typecheck), word for word, which
// test/pg-readme.test.ts checks. Never run: `ps` and `where` stand for what a service has.
import type { PlanetScaleClient } from "planetscale-roles";

declare const ps: PlanetScaleClient;
declare const where: { organization: string; database: string; branch: string };

import { createPool } from "planetscale-roles/pg";

const lease = await ps.leaseRole(
  { ...where, name: "api", ttl: 3600, inherited_roles: ["pg_read_all_data"] },
  { rotateAfterMs: 6 * 3_600_000, graceMs: 120_000 },
);
const db = createPool(lease, { max: 10 }); // any pg.PoolConfig but connectionString and Client
const { rows } = await db.query("select now()");
process.once("SIGTERM", async () => {
  await db.end(); // first the pool: its connections close
  await lease.close(); // then the roles are deleted
});

void rows;
