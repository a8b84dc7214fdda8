// createRedisRateLimiter: one budget for every process that names the same Redis and key. When Redis
// cannot be reached, each process paces its own calls with the in-memory limiter, says so once, and
// returns to the shared budget when Redis answers again. The limiter never fails a call.
import { Redis, type RedisOptions } from "ioredis";
import { sleep } from "../clock.ts";
import { createRateLimiter, type RateLimiter } from "../gate.ts";
import { RedisRoute } from "./route.ts";
import { SharedPace, type Turn } from "./shared-pace.ts";

export const DEFAULT_KEY = "planetscale-roles:rate-limit";
// Redis on the same network answers in a millisecond or two; a command that takes longer than this
// is treated as Redis gone, so that a hung Redis costs a call little of its own deadline.
export const DEFAULT_COMMAND_TIMEOUT_MS = 100;

export interface RedisRateLimiterOptions {
  /** The Redis every process of the fleet names: `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
  url: string;
  /**
   * The budget's key in Redis: limiters with the same key share one budget. Use one key per
   * service token, as the API counts per token. Default `planetscale-roles:rate-limit`.
   */
  key?: string;
  /**
   * Longest wait for one Redis command, in ms, before the call is paced locally instead. Default 100.
   * It counts toward the call's timeoutMs: keep it well under that.
   */
  commandTimeoutMs?: number;
  /** Told once when Redis cannot be reached and this process paces its calls alone. Default: console.warn. */
  onWarning?: (message: string) => void;
}

/** A RateLimiter shared through Redis, holding a connection until it is closed. */
export interface RedisRateLimiter extends RateLimiter {
  /** Closes the connection to Redis (so that the process can exit); the limiter then paces this process alone. */
  close(): void;
}

function checkOptions(options: RedisRateLimiterOptions): void {
  const fail = (field: string, allowed: string) => {
    throw new TypeError(`createRedisRateLimiter: ${field} must be ${allowed}`);
  };
  if (typeof options !== "object" || options === null) fail("options", "an object with a url");
  const { url, key, commandTimeoutMs, onWarning } = options;
  const protocol = typeof url === "string" && URL.canParse(url) ? new URL(url).protocol : "";
  if (protocol !== "redis:" && protocol !== "rediss:") fail("url", "a redis:// or rediss:// URL");
  if (key !== undefined && (typeof key !== "string" || key === "")) fail("key", "a non-empty string");
  if (commandTimeoutMs !== undefined && !(Number.isFinite(commandTimeoutMs) && commandTimeoutMs > 0)) {
    fail("commandTimeoutMs", "a positive number of milliseconds");
  }
  if (onWarning !== undefined && typeof onWarning !== "function") fail("onWarning", "a function");
}

/** Settles as `work` does, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const follower = AbortSignal.any([signal]);
    const onAbort = () => reject(signal.reason);
    follower.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => follower.removeEventListener("abort", onAbort));
    if (signal.aborted) onAbort();
  });
}

function connect(url: string, commandTimeoutMs: number): Redis {
  const settings: RedisOptions & { disconnectTimeout: number } = {
    commandTimeout: commandTimeoutMs,
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

/**
 * A RateLimiter whose hold and pace every process with the same Redis and key shares: a 429 seen by
 * any of them holds all of them until its Retry-After, then they go at the pace learned from what
 * the server accepted of all of them. Pass it as `createClient({ rateLimiter })`.
 */
export function createRedisRateLimiter(options: RedisRateLimiterOptions): RedisRateLimiter {
  checkOptions(options);
  const { url, key = DEFAULT_KEY, commandTimeoutMs = DEFAULT_COMMAND_TIMEOUT_MS, onWarning = console.warn } = options;
  const client = connect(url, commandTimeoutMs);
  const pace = new SharedPace(client, key);
  const local = createRateLimiter();
  const address = new URL(url);
  const route = new RedisRoute(client, `${address.hostname}:${address.port || 6379}`, onWarning);

  async function sharedTurn(signal: AbortSignal | undefined): Promise<void> {
    let epochSeen: number | undefined;
    for (;;) {
      let turn: Turn;
      try {
        turn = await untilAborted(pace.reserve(epochSeen), signal);
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        route.failed(error);
        return local.acquire(signal);
      }
      if (turn.waitMs <= 0) return;
      await sleep(turn.waitMs, signal);
      // A hold or a newly learned pace since the reservation moves this call behind it.
      epochSeen = turn.epoch;
    }
  }

  return {
    acquire: (signal) => (route.shared ? sharedTurn(signal) : local.acquire(signal)),
    limited(retryAfterMs) {
      // The local limiter learns too, so that a fall-back starts from what this process saw.
      local.limited(retryAfterMs);
      if (route.shared) pace.limited(retryAfterMs).catch((error) => route.failed(error));
    },
    accepted() {
      local.accepted();
      if (route.shared) pace.accepted().catch((error) => route.failed(error));
    },
    close: () => route.close(),
  };
}
