// When the limiter uses Redis and when it paces the process alone: the fall-back rule, and the one
// warning that tells the caller.
import type { Redis } from "ioredis";
import { printable } from "../secrets.ts";

/** After a Redis command failed on a live connection (it timed out, say), the next try waits this long. */
const RETRY_AFTER_FAILURE_MS = 1_000;

export class RedisRoute {
  #failedAt: number | undefined;
  #warned = false;
  #closed = false;

  constructor(
    private readonly client: Redis,
    /** host:port only: the URL may hold a password. */
    private readonly where: string,
    private readonly onWarning: (message: string) => void,
  ) {}

  /**
   * Redis is used until a command fails; after that, once ioredis has reconnected (it retries on
   * its own, at most 2 s apart) and a second has passed since the failure.
   */
  get shared(): boolean {
    if (this.#closed) return false;
    if (this.#failedAt === undefined) return true;
    return this.client.status === "ready" && Date.now() - this.#failedAt >= RETRY_AFTER_FAILURE_MS;
  }

  /** A Redis command failed or took too long: pace locally for now, and say so the first time. */
  failed(error: unknown): void {
    this.#failedAt = Date.now();
    if (this.#warned || this.#closed) return;
    this.#warned = true;
    const reason = printable(error instanceof Error ? error.message : String(error));
    // A warning hook that throws must not change a call's outcome.
    try {
      this.onWarning(
        `planetscale-roles/redis: Redis at ${this.where} did not answer (${reason}); this process paces its ` +
          "calls alone until it answers again.",
      );
    } catch {}
  }

  close(): void {
    this.#closed = true;
    this.client.disconnect();
  }
}
