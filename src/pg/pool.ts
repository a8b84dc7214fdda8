// createPool: a node-postgres Pool on a lease. pg's Pool takes one user for all its connections,
// while each role a lease makes has a username of its own: so each new connection is a Client
// that reads the lease's current role when it is made, and remembers which role that was. A
// connection of a role the lease has since replaced is closed when it is released (or found
// idle at checkout) instead of being handed out again; queries on it finish first.
import pg from "pg";
// From the main entry, not ../*.ts: the errors this entry throws are then the classes a caller
// imports from "planetscale-roles", not copies that instanceof does not know.
import { connectionString, InvalidRequestError, type Lease, type Role } from "planetscale-roles";

/** What the pool needs of a lease (ps.leaseRole's answer). */
export type PoolLease = Pick<Lease, "current" | "fresh">;

/** pg's PoolConfig, less what the lease decides: no connectionString and no Client of your own. */
export type LeasePoolConfig = Omit<pg.PoolConfig, "connectionString" | "Client">;

// What Postgres answers to a login it refuses: wrong password or no such role (28P01), and a
// role it may not let in (28000: pg_hba, or a role without LOGIN).
const BAD_CREDENTIALS = new Set(["28P01", "28000"]);

function isBadCredentials(error: unknown): boolean {
  return BAD_CREDENTIALS.has(`${(error as { code?: unknown } | null)?.code}`);
}

/** How a new connection logs in: the role's credentials, host and database, unless config names them. */
function loginFor(role: Role, config: LeasePoolConfig): pg.ClientConfig {
  // connectionString checks the role's fields and splits its host:port as libpq would.
  const url = new URL(connectionString(role));
  const host = config.host ?? url.hostname.replace(/^\[(.*)\]$/, "$1");
  return {
    user: config.user ?? role.username,
    password: config.password ?? role.password,
    host,
    port: config.port ?? (config.host === undefined ? Number(url.port) : undefined),
    database: config.database ?? role.database_name,
  };
}

/**
 * Runs user code the pool calls where no caller of it is on the stack (pg's I/O, a promise's
 * callback): a throw there would end the process, as an uncaught exception or an unhandled
 * rejection. It is dropped, as the client's hooks' throws are, and the pool goes on.
 */
function quietly(run: () => void): void {
  try {
    run();
  } catch {}
}

/**
 * The config's functions that pg-pool calls from pg's I/O: `log` (everywhere; one that throws is
 * dropped, as a logger's throw is, and must not stop the pool midway) and `verify` (one that throws
 * before it calls back fails that checkout with its throw, as a rejected `onConnect` does).
 */
function guardedHooks({ log, verify }: LeasePoolConfig): Pick<LeasePoolConfig, "log" | "verify"> {
  const guardedVerify: LeasePoolConfig["verify"] = (client, done) => {
    let called = false;
    try {
      verify?.(client, (error) => {
        called = true;
        done(error);
      });
    } catch (thrown) {
      if (!called) done(thrown instanceof Error ? thrown : new Error(String(thrown)));
    }
  };
  return { log: log && ((...messages) => quietly(() => log(...messages))), verify: verify && guardedVerify };
}

function refuse(field: string, allowed: string): never {
  throw new InvalidRequestError(`createPool: ${field} must be ${allowed}`, { field });
}

function checkArguments(lease: unknown, config: unknown): void {
  const candidate = lease as Partial<PoolLease> | null;
  if (typeof candidate?.current !== "function" || typeof candidate.fresh !== "function") {
    refuse("lease", "a lease from ps.leaseRole (with current() and fresh())");
  }
  if (typeof config !== "object" || config === null) refuse("config", "an object (a pg.PoolConfig)");
  for (const field of ["connectionString", "Client"]) {
    if ((config as Record<string, unknown>)[field] !== undefined) {
      refuse(`config.${field}`, "left out: the lease gives each connection its login");
    }
  }
}

type ConnectCallback = (
  error: Error | undefined,
  client: pg.PoolClient | undefined,
  done: (release?: Error | boolean) => void,
) => void;

class LeasePool extends pg.Pool {
  readonly #lease: PoolLease;
  readonly #madeWith: WeakMap<object, string>;

  constructor(lease: PoolLease, madeWith: WeakMap<object, string>, config: pg.PoolConfig) {
    super(config);
    this.#lease = lease;
    this.#madeWith = madeWith;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | undefined {
    // pool.query checks out through here too, with a callback: that path makes no promise, so
    // that a query costs what it costs on a plain pool.
    if (!callback) {
      return new Promise((resolve, reject) => {
        this.#checkout((error, client) => (client ? resolve(client) : reject(error)));
      });
    }
    // Called at once (an ended pool), the callback's throw is the caller's, as on a plain pg.Pool;
    // called later (a login refused, the lease asked, pg's I/O), nobody could catch it.
    let returned = false;
    this.#checkout((error, client) => {
      const call = () => (client ? callback(undefined, client, client.release) : callback(error, undefined, () => {}));
      if (returned) quietly(call);
      else call();
    });
    returned = true;
    return undefined;
  }

  /** A listener that throws ends nothing: pg-pool emits from pg's I/O, and midway through a checkout or a release. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    // With no listener, an "error" throws as on any EventEmitter: no listener of the user's threw.
    if (event === "error" && this.listenerCount(event) === 0) return super.emit(event, ...args);
    try {
      return super.emit(event, ...args);
    } catch {
      return true;
    }
  }

  /**
   * A connection of the lease's current role. Nothing here throws (a lease with no login makes a
   * client that fails to connect), so no catch: pg-pool may call back at once, and a catch would
   * call `done` again with whatever the caller's callback threw.
   */
  #checkout(done: (error: Error | undefined, client?: pg.PoolClient) => void, retried = false): void {
    super.connect((error, client) => this.#checkedOut(done, retried, error, client));
  }

  /**
   * One of a replaced role found idle is closed and another taken (each pass closes one, so this
   * ends); a login refused for its credentials is tried once more, after the lease checked its role.
   */
  #checkedOut(
    done: (error: Error | undefined, client?: pg.PoolClient) => void,
    retried: boolean,
    error: Error | undefined,
    client: pg.PoolClient | undefined,
  ): void {
    if (!client) {
      if (retried || !isBadCredentials(error)) done(error);
      else this.#retryAfterFresh(done);
      return;
    }
    if (this.#isStale(client)) {
      client.release(true);
      this.#checkout(done, retried);
      return;
    }
    const release = client.release;
    client.release = (destroy?: Error | boolean) => release(destroy || this.#isStale(client) || undefined);
    done(undefined, client);
  }

  /**
   * Asks the lease to check its role now (src/lease/options.ts' LOGIN_REFUSED: one deleted on the
   * server is not due for anything), then checks out once more. What runs after fresh() runs in a
   * promise's callback, where a throw (a callback or a listener of the user's) would be an
   * unhandled rejection: none gets out of it. A lease of the user's whose fresh() throws, or
   * answers no promise, is a failed fresh() too.
   */
  #retryAfterFresh(done: (error: Error | undefined, client?: pg.PoolClient) => void): void {
    const asked = { [Symbol.for("planetscale-roles.loginRefused")]: true } as { minValidityMs?: number };
    new Promise((resolve) => resolve(this.#lease.fresh(asked))).then(
      () => quietly(() => this.#checkout(done, true)),
      (failure: unknown) => quietly(() => done(failure instanceof Error ? failure : new Error(String(failure)))),
    );
  }

  #isStale(client: object): boolean {
    try {
      return this.#madeWith.get(client) !== this.#lease.current().id;
    } catch {
      return true; // the lease is closed: none of its connections is worth keeping
    }
  }
}

type Login = { role: Role; login: pg.ClientConfig } | { refused: Error };

/** The login for a new connection, or why the lease has none: it is closed, or its role is one connectionString refuses. */
function loginOf(lease: PoolLease, config: LeasePoolConfig): Login {
  try {
    const role = lease.current();
    return { role, login: loginFor(role, config) };
  } catch (error) {
    return { refused: error instanceof Error ? error : new Error(String(error)) };
  }
}

/**
 * The pool's Client: it logs in with the lease's current role. pg-pool makes one where nothing
 * catches a throw (while it releases another connection, for the query waiting next), so a lease
 * that has no login gives a client whose connect fails with the lease's error, as a refused login
 * would: the waiting query rejects with it, and pg-pool moves on to the next.
 */
function leaseClient(lease: PoolLease, config: LeasePoolConfig, madeWith: WeakMap<object, string>) {
  return class LeaseClient extends pg.Client {
    readonly #refused: Error | undefined;

    // Not in @types/pg: where pg keeps what it logs in with, the password included.
    declare readonly connectionParameters: { password: string | null };

    // Optional for the type only (@types/pg's Client option takes no argument): pg-pool passes its options.
    constructor(options: pg.ClientConfig = {}) {
      const made = loginOf(lease, config);
      super("refused" in made ? options : { ...options, ...made.login });
      this.#refused = "refused" in made ? made.refused : undefined;
      if ("refused" in made) return;
      madeWith.set(this, made.role.id);
      // pg keeps the password on the client (hidden only from enumeration); once logged in it is
      // never used again, as a pg client never reconnects, so no inspect of the pool can show it.
      this.once("connect", () => this.#forgetPassword());
    }

    #forgetPassword(): void {
      this.password = undefined;
      this.connectionParameters.password = null;
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: (error: Error) => void): void;
    override connect(callback?: (error: Error) => void): Promise<pg.Client> | undefined {
      const refused = this.#refused;
      if (!callback) return refused ? Promise.reject(refused) : super.connect();
      // Later, as pg calls back: pg-pool reads nothing of the client after asking it to connect.
      if (refused) queueMicrotask(() => callback(refused));
      else super.connect(callback);
      return undefined;
    }
  };
}

/**
 * A pg.Pool whose every new connection logs in with `lease.current()`'s credentials. Connections of
 * a replaced role are retired as they are released; the lease deletes that role when its grace ends.
 */
export function createPool(lease: PoolLease, config: LeasePoolConfig = {}): pg.Pool {
  checkArguments(lease, config);
  const madeWith = new WeakMap<object, string>();
  const Client = leaseClient(lease, config, madeWith);
  // TLS verified against the host's name by default, as connectionString's sslmode=verify-full.
  return new LeasePool(lease, madeWith, { ...config, ssl: config.ssl ?? true, ...guardedHooks(config), Client });
}
