// The fake's postgres mode: every role the fake holds is also a real role in a PostgreSQL server,
// so that its credentials really log in (and stop logging in when the API says they should).
// The store stays synchronous: it tells this backing what changed, the backing queues the SQL on
// one admin connection (in order), and the fake awaits what a request queued before answering.
import type { Client } from "pg";
import type { Role } from "planetscale-roles";
import type { RoleEvents } from "./roles-store.ts";

export interface PostgresBacking extends RoleEvents {
  /** host:port of the server, for access_host_url. */
  host: string;
  /** The database of the admin URL, for database_name. */
  database: string;
  /** Awaits the SQL queued since the last call; resolves to the first failure, if any. */
  flush(): Promise<Error | undefined>;
  /** Ends the admin connection. */
  close(): Promise<void>;
}

// What the API's default role can do beyond a created one: it administers the branch.
const DEFAULT_ROLE_OPTIONS = "CREATEDB CREATEROLE";
const DEFAULT_ROLE_GRANTS = ["pg_read_all_data", "pg_write_all_data"];

/** Host, port and database of the admin URL; refused when it is not a postgres URL. */
export function parsePostgresUrl(url: string): { host: string; database: string } {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (!parsed || !/^postgres(ql)?:$/.test(parsed.protocol) || parsed.hostname === "") {
    throw new TypeError(
      "createFakePlanetScale: postgres must be a URL such as postgresql://admin:pw@127.0.0.1:5432/postgres",
    );
  }
  const database = decodeURIComponent(parsed.pathname.slice(1)) || "postgres";
  return { host: `${parsed.hostname}:${parsed.port || "5432"}`, database };
}

/**
 * node-postgres, required through Node's own module loader (process.getBuiltinModule: Node 20.16+,
 * Bun, Deno) from the project's folder, where a peer dependency lives. No import expression: a
 * bundle for a worker or a browser carries none (workerd refuses an import whose specifier it cannot
 * see), and only this mode needs pg installed.
 */
function loadDriver(): typeof import("pg") {
  const host = (globalThis as { process?: { cwd?(): string; getBuiltinModule?(id: string): unknown } }).process;
  const loader = host?.getBuiltinModule?.("node:module") as typeof import("node:module") | undefined;
  if (!loader || !host?.cwd) {
    throw new Error("createFakePlanetScale({ postgres }) needs Node 20.16 or later, Bun or Deno (to load pg)");
  }
  try {
    return loader.createRequire(`${host.cwd()}/`)("pg") as typeof import("pg");
  } catch (cause) {
    throw new Error("createFakePlanetScale({ postgres }) needs pg installed: npm install --save-dev pg", { cause });
  }
}

async function connectAdmin(url: string, failures: Error[]): Promise<Client> {
  const pg = loadDriver();
  const client = new pg.Client({ connectionString: url });
  // A server that stops under the fake fails the next request's SQL, not the test process.
  client.on("error", (error) => failures.push(error));
  await client.connect();
  return client;
}

/**
 * A step's statements in one transaction (role DDL is transactional): a delete refused at DROP ROLE
 * keeps what DROP OWNED took, as the fake then keeps the role in memory.
 */
async function allOrNothing(client: Client, step: (client: Client) => Promise<unknown>): Promise<unknown> {
  await client.query("BEGIN");
  try {
    const done = await step(client);
    await client.query("COMMIT");
    return done;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => {}); // a connection that broke has no transaction left
    throw error;
  }
}

const id = (client: Client, name: string) => client.escapeIdentifier(name);
const literal = (client: Client, value: string) => client.escapeLiteral(value);
const reassign = (client: Client, username: string, successor: string) =>
  client.query(`REASSIGN OWNED BY ${id(client, username)} TO ${id(client, successor)}`);

async function createRole(client: Client, role: Role): Promise<void> {
  const options = role.default ? DEFAULT_ROLE_OPTIONS : "";
  await client.query(
    `CREATE ROLE ${id(client, role.username)} LOGIN ${options} PASSWORD ${literal(client, role.password)} VALID UNTIL ${literal(client, role.expires_at ?? "infinity")}`,
  );
  // Only the inherited roles this server has: the API's list names some a plain Postgres lacks.
  const wanted = role.default ? DEFAULT_ROLE_GRANTS : [...role.inherited_roles];
  const { rows } = await client.query<{ rolname: string }>(
    "SELECT rolname FROM pg_roles WHERE rolname = ANY($1::text[]) ORDER BY rolname",
    [wanted],
  );
  if (rows.length === 0) return;
  await client.query(`GRANT ${rows.map((row) => id(client, row.rolname)).join(", ")} TO ${id(client, role.username)}`);
}

async function dropRole(client: Client, username: string, successor: string | undefined): Promise<void> {
  if (successor !== undefined) await reassign(client, username, successor);
  // DROP OWNED also revokes what was granted to it, which DROP ROLE would otherwise refuse over.
  await client.query(`DROP OWNED BY ${id(client, username)}`);
  await client.query(`DROP ROLE ${id(client, username)}`);
}

/** One admin connection, opened at the first step, that runs the steps in order, each all or nothing. */
function stepQueue(url: string): Pick<PostgresBacking, "flush" | "close"> & {
  queue(step: (client: Client) => Promise<unknown>): void;
} {
  let admin: Promise<Client> | undefined;
  const failures: Error[] = [];
  let queued: Promise<unknown>[] = [];
  let chain: Promise<unknown> = Promise.resolve();
  return {
    queue(step) {
      admin ??= connectAdmin(url, failures);
      const task = chain.then(async () => allOrNothing(await (admin as Promise<Client>), step));
      chain = task.catch(() => {});
      queued.push(task);
    },
    async flush() {
      const tasks = queued;
      queued = [];
      const outcomes = await Promise.allSettled(tasks);
      const failed = outcomes.find((outcome) => outcome.status === "rejected");
      return failed && (failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason)));
    },
    async close() {
      await chain;
      const client = await admin?.catch(() => undefined);
      admin = undefined;
      await client?.end();
    },
  };
}

export function createPostgresBacking(url: string): PostgresBacking {
  const { host, database } = parsePostgresUrl(url);
  const { queue, flush, close } = stepQueue(url);
  // Each event reads the role when it happens, not when its SQL runs: a rename queued behind
  // another must name the username it had then.
  return {
    host,
    database,
    created: (role) => {
      const at = structuredClone(role);
      queue((client) => createRole(client, at));
    },
    renewed: ({ username, expires_at }) =>
      queue((client) =>
        client.query(`ALTER ROLE ${id(client, username)} VALID UNTIL ${literal(client, expires_at ?? "infinity")}`),
      ),
    passwordReset: ({ username, password }) =>
      queue((client) => client.query(`ALTER ROLE ${id(client, username)} PASSWORD ${literal(client, password)}`)),
    renamed: ({ username, password }, previousUsername) =>
      queue(async (client) => {
        await client.query(`ALTER ROLE ${id(client, previousUsername)} RENAME TO ${id(client, username)}`);
        // Renaming clears a password stored as MD5 (the name is its salt); SCRAM's survives.
        await client.query(`ALTER ROLE ${id(client, username)} PASSWORD ${literal(client, password)}`);
      }),
    reassigned: ({ username }, successor) => queue((client) => reassign(client, username, successor.username)),
    removed: ({ username }, successor) => queue((client) => dropRole(client, username, successor?.username)),
    flush,
    close,
  };
}
