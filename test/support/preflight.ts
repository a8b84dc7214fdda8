// What the suite needs from the machine that npm cannot bring, checked before any suite runs, so
// that a fresh machine stops at once with what to install instead of failing halfway with ENOENT.
import { spawnSync } from "node:child_process";

const INSTALL_REDIS =
  "The shared rate limiter's tests need redis-server on the PATH (npm cannot install it): " +
  "`apt-get install redis-server` (Debian, Ubuntu) or `brew install redis` (macOS), then run npm test again.";

/** Undefined when every program is found; else what to install, in words. */
export function missingPrograms(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const redis = spawnSync("redis-server", ["--version"], { env, stdio: "ignore" });
  return redis.error || redis.status !== 0 ? INSTALL_REDIS : undefined;
}
