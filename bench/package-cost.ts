// npm run bench:package — what the package costs a user, each against a baseline measured here:
// min+gzip size of what `import { createRole }` pulls in vs bare openapi-fetch (esbuild), cold
// import time vs bare openapi-fetch, and the size of the shipped .d.ts files. Builds dist/ first.
import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const ROOT = path.resolve(import.meta.dirname, "..");
const RUNS = Number(process.env.RUNS ?? 15);
execFileSync("npm", ["run", "-s", "build"], { cwd: ROOT, stdio: "ignore" });

async function bundled(contents: string): Promise<{ min: number; gzip: number }> {
  const result = await build({
    stdin: { contents, resolveDir: ROOT, loader: "js" },
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    write: false,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  return { min: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

const ours = await bundled(`export { createRole } from "./dist/index.js";`);
const bare = await bundled(`export { default } from "openapi-fetch";`);
console.log("bundle (esbuild, minified)      min        gzip");
console.log(`bare openapi-fetch          ${String(bare.min).padStart(8)} B ${String(bare.gzip).padStart(8)} B`);
console.log(
  `import { createRole }       ${String(ours.min).padStart(8)} B ${String(ours.gzip).padStart(8)} B   ${(ours.gzip / bare.gzip).toFixed(2)}x gzip`,
);

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

const dts = readdirSync(path.join(ROOT, "dist")).filter((file) => /\.d\.c?ts$/.test(file));
const sizes = dts.map((file) => [file, statSync(path.join(ROOT, "dist", file)).size] as const);
console.log("\nshipped declaration files");
for (const [file, size] of sizes) console.log(`${file.padEnd(20)}${(size / 1000).toFixed(1)} kB`);
console.log(
  `${"total".padEnd(20)}${(sizes.reduce((sum, [, size]) => sum + size, 0) / 1000).toFixed(1)} kB (target: each under 150 kB)`,
);
