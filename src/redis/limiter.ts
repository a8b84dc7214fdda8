// createRedisRateLimiter: one budget for every process that names the same Redis and key. When Redis
// cannot be reached, does not answer, or answers what its scripts never return, each process paces
// its own calls with the in-memory limiter, says so once, and returns to the shared budget when
// Redis answers again. The limiter never fails a call.
import { type Cluster, Redis, type RedisOptions } from "ioredis";
import { InvalidRequestError } from "planetscale-roles";
import { type Clock, sleep, systemClock, TIMER_LIMIT_MS } from "../clock.ts";
import { createRateLimiter, type RateLimiter, readRateLimitHeaders, untilAborted } from "../gate.ts";
import { budgetKey, DEFAULT_KEY, isIdentity } from "./identity.ts";
import { RedisRoute } from "./route.ts";
import { SharedPace, type Turn, UnusableReplyError } from "./shared-pace.ts";

// Redis on the same network answers in a millisecond or two; a command that takes longer than this
// is treated as Redis gone, so that a hung Redis costs a call little of its own deadline.
export const DEFAULT_COMMAND_TIMEOUT_MS = 100;

/**
 * The longest wait a call that does not say how long it has is told to make. No hold the API asks
 * for and no pace learned from it comes near; a reply that says more is not the script's.
 */
const LONGEST_WAIT_MS = 3_600_000;

/**
 * Reservations one call makes at most: each one after the first means a hold began or grew while it
 * waited. A fleet's calls in flight at a 429 each lengthen the hold a little, and a call paced far
 * ahead may live through several holds; a Redis that moves the pace under every wait is not that.
 */
const MAX_RESERVATIONS = 20;

export interface RedisRateLimiterOptions {
  /** The Redis every process of the fleet names: `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url?: string;
  /**
   * Instead of `url`: an ioredis `Redis` or `Cluster` client you already hold. The limiter adds its
   * scripts to it and never closes it: `close()` leaves it to you.
   */
  client?: Redis | Cluster;
  /**
   * The budget's key in Redis: limiters with the same key share one budget. Default: one key per
   * set of credentials, named after a hash of the client's token (never the token itself).
   */
  key?: string;
  /**
   * Longest wait for one Redis command, in ms, before the call is paced locally instead. Default 100.
   * Time the process itself was too busy to read the answer does not count. It counts toward the
   * call's timeoutMs: keep it well under that.
   */
  commandTimeoutMs?: number;
  /** Told once when Redis cannot be used and this process paces its calls alone. Default: console.warn. */
  onWarning?: (message: string) => void;
  /** Where the waits at the shared hold and the pause after a failure take their time from. Default: the real clock. */
  clock?: Clock;
}

/** A RateLimiter shared through Redis, holding a connection until it is closed. */
export interface RedisRateLimiter extends RateLimiter {
  /**
   * Resolves when one more request may go. A wait longer than the call has left is waited until the
   * call's signal ends it at its deadline (nothing sent), with the shared hold kept for every other
   * call; only a wait no call could use (over an hour) counts as Redis failing. A hold longer than
   * `longestHoldMs` (its client's backoff.maxRetryAfterMs) is refused at once, nothing reserved.
   */
  acquire(signal?: AbortSignal, timeLeftMs?: number, longestHoldMs?: number): Promise<void> | undefined;
  /**
   * Told by a client that uses this limiter, before its first call: the hex SHA-256 of its
   * Authorization header value (or a promise of it). Without a `key`, the budget is named after the
   * first one told; a limiter passed to several clients keeps that one budget for all of them.
   */
  bind(identity: string | PromiseLike<string>): void;
  /**
   * Writes any 429 this process met to Redis (waiting at most `commandTimeoutMs`), then closes the
   * connection the limiter made, so that the process can exit; the limiter then paces this process alone.
   */
  close(): Promise<void>;
}

// Every option RedisRateLimiterOptions declares: an unknown one is a typo (`commandTimeout`), and a
// limiter that dropped it would run on the default without a word.
const OPTIONS = [
  "url",
  "client",
  "key",
  "commandTimeoutMs",
  "onWarning",
  "clock",
] as const satisfies readonly (keyof RedisRateLimiterOptions)[];

// Never with the value: a url holds the Redis password.
function refuse(field: string, allowed: string): never {
  throw new InvalidRequestError(`createRedisRateLimiter: ${field} must be ${allowed}`, { field });
}

function checkOptions(options: RedisRateLimiterOptions): void {
  if (typeof options !== "object" || options === null) refuse("options", "an object with a url or a client");
  const unknown = Object.keys(options).find((name) => !(OPTIONS as readonly string[]).includes(name));
  if (unknown !== undefined) refuse(`options.${unknown}`, `left out: the options are ${OPTIONS.join(", ")}`);
  const { url, client, key, commandTimeoutMs, onWarning, clock } = options;
  if ((url === undefined) === (client === undefined)) refuse("url or client", "given, one of them");
  const protocol = typeof url === "string" && URL.canParse(url) ? new URL(url).protocol : "";
  if (url !== undefined && protocol !== "redis:" && protocol !== "rediss:") {
    refuse("url", "a redis:// or rediss:// URL");
  }
  const commands = client as { defineCommand?: unknown; status?: unknown } | undefined;
  if (client !== undefined && (typeof commands?.defineCommand !== "function" || typeof commands.status !== "string")) {
    refuse("client", "an ioredis Redis or Cluster client");
  }
  if (key !== undefined && (typeof key !== "string" || key === "")) refuse("key", "a non-empty string");
  // A longer timer fires at once (Node cuts it to 1 ms), which would fail every command.
  const timerHolds = typeof commandTimeoutMs === "number" && commandTimeoutMs > 0 && commandTimeoutMs <= TIMER_LIMIT_MS;
  if (commandTimeoutMs !== undefined && !timerHolds) {
    refuse("commandTimeoutMs", `a positive number of milliseconds, at most ${TIMER_LIMIT_MS}`);
  }
  if (onWarning !== undefined && typeof onWarning !== "function") refuse("onWarning", "a function");
  if (clock !== undefined && (typeof clock?.now !== "function" || typeof clock.sleep !== "function")) {
    refuse("clock", "a Clock (now, sleep)");
  }
}

function connect(url: string, commandTimeoutMs: number): Redis {
  const settings: RedisOptions & { disconnectTimeout: number } = {
    // Commands wait in ioredis's queue only while the first connection is made (bounded by the
    // command timeout); once a connection breaks they fail at once instead of being sent again.
    maxRetriesPerRequest: 0,
    // Untyped but read by ioredis: how long close() lets a socket that never connected keep the
    // process alive (2 s by default).
    disconnectTimeout: commandTimeoutMs,
  };
  const client = new Redis(url, settings);
  // ioredis reports every failed reconnect here; the limiter tells its caller once, on first use.
  client.on("error", () => {});
  return client;
}

/** The server a warning names: host and port only, as the URL may hold a password. */
function whereOf(url: string | undefined, client: Redis | Cluster): string {
  if (url !== undefined) return `Redis at ${new URL(url).hostname}:${new URL(url).port || 6379}`;
  if (client.isCluster) return "the Redis Cluster";
  const { host, port, path } = (client as Redis).options;
  return `Redis at ${path || `${host}:${port}`}`;
}

/**
 * What a reservation may ask a call to wait before the reply counts as garbage. A plausible wait
 * longer than the call has left is not Redis failing: the call waits at the gate until its deadline
 * ends it (a TimeoutError that says nothing was sent), as with the in-memory limiter, and every
 * other call keeps the shared hold.
 */
function waitLimit(): [number, string] {
  return [LONGEST_WAIT_MS, "an hour"];
}

/** One call's turn from the shared pace, or from the local one as soon as Redis fails it. */
function sharedTurns(pace: SharedPace, route: RedisRoute, local: RateLimiter, clock: Clock) {
  return async (signal: AbortSignal | undefined, longestHoldMs?: number): Promise<void> => {
    let epochSeen: number | undefined;
    for (let reservation = 1; ; reservation++) {
      let turn: Turn;
      try {
        const [longest, limit] = waitLimit();
        turn = await untilAborted(route.watch(pace.reserve(epochSeen, longest, limit, longestHoldMs)), signal);
      } catch {
        // The route has heard of the failure already.
        if (signal?.aborted) throw signal.reason;
        return local.acquire(signal, undefined, longestHoldMs);
      }
      if (turn.refused) throw turn.refused;
      if (turn.waitMs === 0) return;
      if (reservation === MAX_RESERVATIONS) {
        route.failed(new UnusableReplyError(`the pace moved ${MAX_RESERVATIONS} times while one call waited`));
        return local.acquire(signal, undefined, longestHoldMs);
      }
      await clock.sleep(turn.waitMs, signal);
      // A hold since the reservation moves this call behind it.
      epochSeen = turn.epoch;
    }
  };
}

/**
 * Without a key, the first identity a client binds names the budget; calls wait for one that is
 * promised, and a promise that fails or brings no SHA-256 leaves the budget unbound.
 */
function budgetNaming(pace: SharedPace, keyGiven: boolean) {
  let named = keyGiven;
  let naming: Promise<void> | undefined;
  return {
    pending: () => naming,
    bind(identity: string | PromiseLike<string>): void {
      if (named) return;
      if (typeof identity === "string" && !isIdentity(identity)) {
        throw new InvalidRequestError(
          "createRedisRateLimiter: bind(identity) takes the hex SHA-256 of the credentials",
          {
            field: "identity",
          },
        );
      }
      named = true;
      if (typeof identity === "string") {
        pace.key = budgetKey(identity);
        return;
      }
      const settled = Promise.resolve(identity).then(
        (resolved) => {
          if (isIdentity(resolved)) pace.key = budgetKey(resolved);
        },
        () => {},
      );
      naming = settled.then(() => {
        naming = undefined;
      });
    },
  };
}

/**
 * A RateLimiter whose hold and pace every process with the same Redis and key shares: a 429 seen by
 * any of them holds all of them until its Retry-After, then they go at the pace learned from what
 * the server accepted of all of them. Pass it as `createClient({ rateLimiter })`.
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  checkOptions(options);
  const { url, commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS, onWarning = console.warn, clock = systemClock } = options;
  const client = options.client ?? connect(url as string, commandTimeoutMs);
  const pace = new SharedPace(client, options.key ?? DEFAULT_KEY, commandTimeoutMs);
  const local = createRateLimiter({ clock });
  const route = new RedisRoute(client, whereOf(url, client), onWarning, clock);
  const sharedTurn = sharedTurns(pace, route, local, clock);
  const turn = (signal: AbortSignal | undefined, longestHoldMs: number | undefined) =>
    route.shared ? sharedTurn(signal, longestHoldMs) : local.acquire(signal, undefined, longestHoldMs);
  const naming = budgetNaming(pace, options.key !== undefined);
  const read = (headers: Headers | undefined) => (headers ? readRateLimitHeaders(headers, clock.now()) : undefined);

  return {
    acquire(signal, _timeLeftMs, longestHoldMs) {
      const pending = naming.pending();
      if (!pending) return turn(signal, longestHoldMs);
      return untilAborted(pending, signal).then(() => turn(signal, longestHoldMs));
    },
    limited(retryAfterMs, headers) {
      // The local limiter learns too, so that a fall-back starts from what this process saw.
      local.limited(retryAfterMs, headers);
      if (route.shared) route.watch(pace.limited(retryAfterMs, read(headers))).catch(() => {});
    },
    accepted(headers) {
      local.accepted(headers);
      if (route.shared) route.watch(pace.accepted(read(headers))).catch(() => {});
    },
    bind: naming.bind,
    async close() {
      // A 429 this process met goes to Redis before the connection does: a job that ends at once
      // still holds the rest of the fleet. Bounded as any command is.
      if (route.shared) await Promise.race([pace.landed(), sleep(commandTimeoutMs, undefined, { unref: true })]);
      route.close();
      if (!options.client) client.disconnect();
    },
  };
}
