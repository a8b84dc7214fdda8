// npm run test:runtimes
// Installs the pinned runtimes (scripts/runtimes/versions.ts) into .cache/runtimes, packs the
// package, and runs test/runtimes/smoke.ts in each: this machine's Node, Node 22 and 24, Bun, Deno
// (--allow-net --allow-read only) and workerd through miniflare. Each runtime gets its own local
// servers on 127.0.0.1, stopped after it. Prints one line per runtime and the wall time; exits 1
// when any runtime fails.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { startRolesServer } from "../test/support/roles-server.ts";
import { hang, startServer } from "../test/support/servers.ts";
import { installRuntimes } from "./runtimes/install.ts";
import { preparePackage } from "./runtimes/package-under-test.ts";
import { type RuntimeRun, runRuntime } from "./runtimes/run-runtime.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const CACHE = path.join(ROOT, ".cache", "runtimes");

interface Runtime {
  name: string;
  version: string;
  command: string;
  args: (urls: [rolesUrl: string, hangingUrl: string]) => string[];
  env?: Record<string, string>;
}

const seconds = (since: number) => ((performance.now() - since) / 1000).toFixed(1);

async function runWithServers(runtime: Runtime, cwd: string): Promise<RuntimeRun> {
  const roles = await startRolesServer();
  const stalled = await startServer(hang);
  try {
    const options = runtime.env ? { cwd, env: runtime.env } : { cwd };
    return await runRuntime(runtime.command, runtime.args([roles.url, stalled.url]), options);
  } finally {
    await Promise.all([roles.close(), stalled.close()]);
  }
}

function report(runtime: Runtime, run: RuntimeRun): number {
  const count = (outcome: string) => run.results.filter((result) => result.outcome === outcome).length;
  const failed = count("failed");
  const line = `${runtime.name.padEnd(12)} ${runtime.version.padEnd(13)} ${String(count("passed")).padStart(2)} passed, ${failed} failed, ${count("skipped")} skipped  ${run.seconds.toFixed(1).padStart(5)} s`;
  console.log(line);
  for (const result of run.results) {
    if (result.outcome !== "passed")
      console.log(`    ${result.outcome}: ${result.name}${result.detail ? `: ${result.detail}` : ""}`);
  }
  return failed;
}

const wallStart = performance.now();
const workDir = await mkdtemp(path.join(tmpdir(), "psr-runtimes-"));
try {
  const installStart = performance.now();
  const installed = await installRuntimes(CACHE);
  console.log(
    `runtimes ${installed.installedNow ? "installed into" : "reused from"} .cache/runtimes in ${seconds(installStart)} s`,
  );
  const packStart = performance.now();
  const pkg = await preparePackage(workDir);
  console.log(
    `packed and installed the tarball (${pkg.tarballFiles.length} files), bundled the suite in ${seconds(packStart)} s`,
  );

  const { versions } = installed;
  const cli = (command: string, name: string, version: string): Runtime => ({
    name,
    version,
    command,
    args: (urls) => [pkg.cliBundle, ...urls],
  });
  const runtimes: Runtime[] = [
    cli(process.execPath, "node (host)", process.versions.node),
    cli(installed.node22, "node 22", versions.node22),
    cli(installed.node24, "node 24", versions.node24),
    cli(installed.bun, "bun", versions.bun),
    {
      name: "deno",
      version: versions.deno,
      command: installed.deno,
      // No --allow-env: a client given explicit options must not need the environment.
      args: (urls) => ["run", "--allow-net", "--allow-read", "--no-prompt", pkg.cliBundle, ...urls],
      env: { DENO_DIR: path.join(CACHE, "deno-dir"), DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
    },
    {
      name: "workerd",
      version: versions.workerd,
      command: installed.node24,
      args: (urls) => [
        path.join(ROOT, "scripts/runtimes/miniflare-host.ts"),
        installed.miniflare,
        pkg.workerBundle,
        ...urls,
      ],
    },
  ];

  let failed = 0;
  let passed = 0;
  let skipped = 0;
  let failedRuntimes = 0;
  for (const runtime of runtimes) {
    const run = await runWithServers(runtime, pkg.consumer);
    const runtimeFailures = report(runtime, run);
    failed += runtimeFailures;
    if (runtimeFailures > 0) failedRuntimes++;
    passed += run.results.filter((result) => result.outcome === "passed").length;
    skipped += run.results.filter((result) => result.outcome === "skipped").length;
  }
  console.log(`wall time ${seconds(wallStart)} s; workerd via miniflare ${versions.miniflare}`);
  console.log(`runtimes: ${passed} passed, ${failed} failed, ${skipped} skipped`);
  if (failedRuntimes > 0) {
    console.error(`test:runtimes: ${failedRuntimes} of ${runtimes.length} runtimes failed`);
    process.exitCode = 1;
  }
} finally {
  await rm(workDir, { recursive: true, force: true });
}
