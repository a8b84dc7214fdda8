// npm run bench:spec — pull + generate on the full 2.4 MB upstream document (the test fixture, or
// SPEC=<file>), against a baseline measured in the same run: parsing that document with the yaml
// library alone.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import YAML from "yaml";
import { render } from "../scripts/lib/generate.ts";
import { pullSpec } from "../scripts/lib/spec.ts";
import { tempDir } from "../test/support/run.ts";
import { unpackUpstream } from "../test/support/spec-fixtures.ts";

const RUNS = Number(process.env.RUNS ?? 3);

async function median(task: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await task();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const { dir, cleanup } = await tempDir();
try {
  const upstream = process.env.SPEC ?? (await unpackUpstream(dir)).file;
  const text = await readFile(upstream, "utf8");
  const parse = await median(async () => YAML.parse(text, { maxAliasCount: 0 }));
  let yaml = "";
  const pull = await median(async () => {
    yaml = (await pullSpec(upstream, "openapi/overlays")).yaml;
  });
  const specPath = path.join(dir, "planetscale.yaml");
  await writeFile(specPath, yaml);
  const generate = await median(() => render(specPath));
  console.log(`upstream ${(text.length / 1e6).toFixed(2)} MB, median of ${RUNS}`);
  console.log(`parse only (baseline)  ${parse.toFixed(0)} ms`);
  console.log(`pull                   ${pull.toFixed(0)} ms, ${(pull / parse).toFixed(2)}x baseline`);
  console.log(`generate               ${generate.toFixed(0)} ms, ${(generate / parse).toFixed(2)}x baseline`);
  console.log(
    `pull + generate        ${(pull + generate).toFixed(0)} ms, ${((pull + generate) / parse).toFixed(2)}x baseline`,
  );
} finally {
  await cleanup();
}
