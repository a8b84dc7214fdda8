// When the limiter uses Redis and when it paces the process alone: the fall-back rule, and the one
// warning that tells the caller.
import type { Clock } from "../clock.ts";
import { printable } from "../secrets.ts";
import { UnusableReplyError } from "./shared-pace.ts";

/** After a Redis command failed on a live connection (it timed out, say), the next try waits this long. */
const RETRY_AFTER_FAILURE_MS = 1_000;

export class RedisRoute {
  #failedAt: number | undefined;
  #probing = false;
  #warned = false;
  #closed = false;

  constructor(
    private readonly client: { readonly status: string },
    /** "Redis at host:port", or what else names the server: never the URL, which may hold a password. */
    private readonly where: string,
    private readonly onWarning: (message: string) => void,
    private readonly clock: Clock,
  ) {}

  /**
   * Redis is used until a command fails; after that, once the client is connected again (ioredis
   * reconnects on its own, at most 2 s apart) and a second has passed since the failure, by one
   * command at a time until one succeeds, so that a Redis that keeps failing costs one try a second.
   */
  get shared(): boolean {
    if (this.#closed) return false;
    if (this.#failedAt === undefined) return true;
    if (this.#probing || this.client.status !== "ready") return false;
    if (this.clock.now() - this.#failedAt < RETRY_AFTER_FAILURE_MS) return false;
    this.#probing = true;
    return true;
  }

  /** Reports how `reply` ends, and returns it. */
  watch<T>(reply: Promise<T>): Promise<T> {
    reply.then(
      () => this.answered(),
      (error: unknown) => this.failed(error),
    );
    return reply;
  }

  answered(): void {
    this.#failedAt = undefined;
    this.#probing = false;
  }

  /** A Redis command failed, took too long or got a reply it cannot use: pace locally for now, and say so the first time. */
  failed(error: unknown): void {
    this.#failedAt = this.clock.now();
    this.#probing = false;
    if (this.#warned || this.#closed) return;
    this.#warned = true;
    const reason = printable(error instanceof Error ? error.message : String(error));
    const what = error instanceof UnusableReplyError ? "answered what the limiter cannot use" : "did not answer";
    // A warning hook that throws must not change a call's outcome.
    try {
      this.onWarning(
        `planetscale-roles/redis: ${this.where} ${what} (${reason}); this process paces its calls alone until it ` +
          "answers again.",
      );
    } catch {}
  }

  close(): void {
    this.#closed = true;
  }
}
