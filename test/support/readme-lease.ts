// The README's "Long-running services" examples, for the type checker (npm run typecheck): each
// ts block of that section appears below word for word, which test/readme-lease.test.ts checks.
// Never run: `ps`, `where` and the pool stand for what a service has.
import { connectionString, type PlanetScaleClient } from "../../src/index.ts";

declare const ps: PlanetScaleClient;
declare const where: { organization: string; database: string; branch: string };
interface Pool {
  end(): Promise<void>;
}
declare function newPool(url: string): Pool;
declare function runQuery(url: string, sql: string): Promise<unknown>;

const lease = await ps.leaseRole({ ...where, name: "api", ttl: 3600, inherited_roles: ["pg_read_all_data"] });
const databaseUrl = () => connectionString(lease.current()); // valid now, password included
process.once("SIGTERM", () => void lease.close()); // deletes the role; a failed delete is named in the error

let pool: Pool | undefined;
const rotating = await ps.leaseRole(
  { ...where, name: "api", ttl: 3600, inherited_roles: ["pg_read_all_data"] },
  {
    rotateAfterMs: 6 * 3_600_000, // a new role every 6 hours
    graceMs: 120_000, // the previous role lives 2 more minutes once onChange has resolved
    onChange: async (next) => {
      const previous = pool;
      pool = newPool(connectionString(next)); // new connections log in as the new role
      await previous?.end(); // let the old connections finish; the grace starts after this
    },
    onError: (error) => console.warn(`lease: ${error.message}`),
  },
);

export async function handle(request: Request): Promise<Response> {
  const role = await lease.fresh({ minValidityMs: 60_000 }); // no request is sent while nothing is due
  return Response.json(await runQuery(connectionString(role), await request.text()));
}

export { databaseUrl, rotating };
