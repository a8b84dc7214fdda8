// npm run bench:cli — wall time of `planetscale-roles --help` against `node -e 0`, both measured
// in this run (median of N). Uses the built bin (dist/bin.mjs, built from src/cli/bin.ts by
// `npm run build`) when present, and the TypeScript source through tsx as well.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";

const RUNS = Number(process.env.RUNS ?? 15);

function median(command: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    execFileSync(process.execPath, command, { stdio: "ignore" });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const baseline = median(["-e", "0"]);
console.log(`node -e 0                          ${baseline.toFixed(1)} ms (baseline)`);
const candidates: [string, string[]][] = [
  ["tsx src/cli/bin.ts --help", ["--import", "tsx", "src/cli/bin.ts", "--help"]],
];
if (existsSync("dist/bin.mjs")) candidates.unshift(["dist/bin.mjs --help (built)", ["dist/bin.mjs", "--help"]]);
for (const [label, command] of candidates) {
  const ms = median(command);
  console.log(`${label.padEnd(35)}${ms.toFixed(1)} ms, ${(ms / baseline).toFixed(2)}x baseline`);
}
