// The runtimes `npm run test:runtimes` installs from the npm registry, pinned. The README's
// "Supported runtimes" table names these versions; change both together.
export const RUNTIME_VERSIONS = {
  /** node-<platform>-<arch>, the binary package the `node` package itself installs. */
  node22: "22.23.5",
  node24: "24.22.3",
  bun: "1.4.5",
  deno: "2.9.6",
  /** Brings workerd (its exact dependency) and runs it; needs Node 22 or later, so runs on node24. */
  miniflare: "4.20260730.0",
} as const;

/** A compatibility date the pinned workerd supports; the worker smoke test runs with it. */
export const WORKER_COMPATIBILITY_DATE = "2026-07-01";
