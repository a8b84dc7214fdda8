// npm run bench:instructions — the CPU work of one createRole against openapi-fetch given a per-call
// AbortSignal.timeout, counted in machine instructions under valgrind: unlike wall time, the count
// does not move when other processes load the machine (bench:overhead measures the time). Each
// variant runs with 0 and with CALLS calls after the same warm-up; the difference over CALLS is one
// call's instructions. In memory (the client's own work) and over a loopback socket (a whole call
// as the client process does it; the server runs in a process valgrind does not follow).
// Needs valgrind (apt-get install valgrind).
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";
import { build } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "..");
const CALLS = Number(process.env.CALLS ?? 1000);
const RUNNER = path.join(ROOT, ".tmp", "bench-calls.mjs");
try {
  execFileSync("valgrind", ["--version"], { stdio: "ignore" });
} catch {
  console.error("bench:instructions needs valgrind: apt-get install valgrind");
  process.exit(1);
}
// One bundle, so that the count has no TypeScript loader in it.
await build({
  entryPoints: [path.join(ROOT, "bench", "lib", "calls.ts")],
  bundle: true,
  platform: "node",
  format: "esm",
  outfile: RUNNER,
  logLevel: "silent",
});

/** Instructions of one run. --single-threaded: no compiler or GC threads, whose share would vary. */
function instructions(variant: string, calls: number, over: string): Promise<number> {
  const args = ["--tool=callgrind", "--cache-sim=no", "--callgrind-out-file=/dev/null"];
  const child = spawn("valgrind", [...args, "node", "--single-threaded", RUNNER, variant, String(calls), over], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) =>
    child.on("close", () => {
      const collected = /Collected : (\d+)/.exec(stderr);
      if (collected) resolve(Number(collected[1]));
      else reject(new Error(`valgrind gave no count for ${variant} ${over}:\n${stderr.slice(-2000)}`));
    }),
  );
}

const VARIANTS = ["openapi-fetch + deadline", "planetscale-roles createRole"];
for (const over of ["memory", "socket"]) {
  // Two runs at a time: one per core.
  const perCall: number[] = [];
  for (const variant of VARIANTS) {
    const [none, some] = await Promise.all([instructions(variant, 0, over), instructions(variant, CALLS, over)]);
    perCall.push((some - none) / CALLS);
  }
  const [baseline = 1, ours = 1] = perCall;
  console.log(`${over}, ${CALLS} calls after a warm-up, instructions per call`);
  console.log(`  ${VARIANTS[0]?.padEnd(30)} ${(baseline / 1000).toFixed(0).padStart(7)}k`);
  console.log(
    `  ${VARIANTS[1]?.padEnd(30)} ${(ours / 1000).toFixed(0).padStart(7)}k   ${(ours / baseline).toFixed(3)}x the work, so ${(baseline / ours).toFixed(3)}x the throughput where the client's work bounds it`,
  );
}
