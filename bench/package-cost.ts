// npm run bench:package — what the package costs a user, each against a baseline measured here:
// min+gzip size of what `import { createRole }` pulls in vs bare openapi-fetch (esbuild), cold
// import time vs bare openapi-fetch, the size of the shipped declarations, and the types a
// type-check of a file that imports the package creates. Builds dist/ first. Sizes and type counts
// are checked against issue 16's targets (the exit code says whether all were met); test/ keeps
// the same measures from sliding back (test/support/package-size.ts).
import { execFileSync } from "node:child_process";
import path from "node:path";
import {
  bundled,
  CREATE_ROLE_GZIP_TARGET,
  createRoleBundle,
  DECLARATIONS_TARGET,
  declarationSizes,
  OCTOKIT_GZIP,
  OCTOKIT_RATIO_TARGET,
  TYPE_COST_TARGET,
  typeCost,
} from "../test/support/package-size.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const RUNS = Number(process.env.RUNS ?? 15);
execFileSync("npm", ["run", "-s", "build"], { cwd: ROOT, stdio: "ignore" });

let missed = 0;
/** "met" or "MISSED", counting the misses for the exit code. */
function verdict(met: boolean): string {
  if (!met) missed++;
  return met ? "met" : "MISSED";
}

const ours = await createRoleBundle(ROOT);
const bare = await bundled(`export { default } from "openapi-fetch";`, ROOT);
const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
console.log("bundle (esbuild, minified)      min        gzip");
console.log(`bare openapi-fetch          ${String(bare.min).padStart(8)} B ${String(bare.gzip).padStart(8)} B`);
console.log(
  `import { createRole }       ${String(ours.min).padStart(8)} B ${String(ours.gzip).padStart(8)} B   ${(ours.gzip / bare.gzip).toFixed(2)}x gzip`,
);
console.log(
  `target: at most ${kB(CREATE_ROLE_GZIP_TARGET)} gzip: ${verdict(ours.gzip <= CREATE_ROLE_GZIP_TARGET)}; ` +
    `${(ours.gzip / OCTOKIT_GZIP).toFixed(2)}x Octokit core + retry + throttling (${kB(OCTOKIT_GZIP)}, issue 16), ` +
    `at most ${OCTOKIT_RATIO_TARGET}x: ${verdict(ours.gzip <= OCTOKIT_RATIO_TARGET * OCTOKIT_GZIP)}`,
);
const sources = (await createRoleBundle(ROOT, "./src/index.ts")).bySource;
console.log(
  "\nwhere its bytes come from (built from src/; minified bytes before gzip, which shrinks a table such as operations.ts far more than words)",
);
for (const [file, bytes] of sources) console.log(`${file.padEnd(46)}${String(bytes).padStart(7)} B`);

function medianMs(args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    execFileSync(process.execPath, args, { cwd: ROOT, stdio: "ignore" });
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)] as number;
}
const nodeOnly = medianMs(["-e", "0"]);
const importBare = medianMs(["--input-type=module", "-e", `await import("openapi-fetch")`]);
const importOurs = medianMs(["--input-type=module", "-e", `await import("./dist/index.js")`]);
console.log(`\ncold import, median of ${RUNS} processes`);
console.log(`node -e 0                  ${nodeOnly.toFixed(1)} ms`);
console.log(
  `import openapi-fetch       ${importBare.toFixed(1)} ms (+${(importBare - nodeOnly).toFixed(1)} ms over node)`,
);
console.log(
  `import planetscale-roles   ${importOurs.toFixed(1)} ms (+${(importOurs - nodeOnly).toFixed(1)} ms over node)   ${(importOurs / importBare).toFixed(2)}x openapi-fetch`,
);

const sizes = await declarationSizes(ROOT);
const total = sizes.reduce((sum, [, size]) => sum + size, 0);
console.log("\nshipped declaration files (every entry, import and require)");
for (const [file, size] of sizes) console.log(`${file.padEnd(24)}${kB(size)}`);
console.log(
  `${"total".padEnd(24)}${kB(total)} (target: at most ${kB(DECLARATIONS_TARGET)}: ${verdict(total <= DECLARATIONS_TARGET)})`,
);

const types = typeCost(ROOT);
console.log("\ntypes created to type-check one file (node16, strict, libraries checked)");
console.log(`empty file                  ${types.empty}`);
for (const format of ["esm", "cjs"] as const) {
  const ratio = types[format] / types.empty;
  console.log(
    `importing the package (${format}) ${types[format]}   ${ratio.toFixed(2)}x (target: at most ${TYPE_COST_TARGET}x: ${verdict(ratio <= TYPE_COST_TARGET)})`,
  );
}
if (missed > 0) {
  console.log(`\n${missed} target(s) missed`);
  process.exitCode = 1;
}
