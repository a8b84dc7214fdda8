// npm run generate [-- --check] [--spec FILE] [--out DIR]
// Writes src/generated/ from openapi/planetscale.yaml: the openapi-typescript types, and the
// per-operation facts the runtime needs (method, path, parameters, body fields with their enum
// lists, required accesses and scopes, the literal segments other routes have where its path has a
// parameter). With --check it writes nothing and fails when the
// committed files differ from what the spec gives, or when the spec leaves a decision open
// (scripts/lib/decisions.ts); without it, the open decisions are printed as notes.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { pendingDecisions } from "./lib/decisions.ts";
import { printableLines } from "./lib/escape.ts";
import { GENERATE_COMMAND as COMMAND, render } from "./lib/generate.ts";
import { SpecError } from "./lib/spec.ts";

const { values } = parseArgs({
  options: {
    check: { type: "boolean", default: false },
    spec: { type: "string", default: "openapi/planetscale.yaml" },
    out: { type: "string", default: "src/generated" },
  },
});

const outDir = path.resolve(values.out);
const files = await render(values.spec).catch((error: unknown) => {
  if (!(error instanceof SpecError)) throw error;
  console.error(`generate: ${printableLines(error.message)}`);
  console.error("Nothing was written.");
  process.exit(1);
});
const stale: string[] = [];
for (const [name, expected] of files) {
  const file = path.join(outDir, name);
  if (values.check) {
    const actual = await readFile(file, "utf8").catch(() => undefined);
    if (actual !== expected) stale.push(path.relative(process.cwd(), file));
  } else {
    await mkdir(outDir, { recursive: true });
    await writeFile(file, expected);
  }
}
if (values.check) {
  if (stale.length > 0) {
    console.error(`generate --check: stale against ${values.spec}: ${stale.join(", ")}`);
    console.error(`Run \`${COMMAND}\` and commit the result.`);
    process.exitCode = 1;
  } else {
    console.log(`generate --check: ${[...files.keys()].join(", ")} match ${values.spec}`);
  }
} else {
  console.log(`generate: wrote ${[...files.keys()].join(", ")} to ${path.relative(process.cwd(), outDir)}`);
}

// Imported only now: the policy table's module reads src/generated, which may just have been written.
const { operationPolicy } = await import("../src/retry.ts");
const decisions = await pendingDecisions(values.spec, Object.keys(operationPolicy));
if (decisions.length > 0) {
  const label = values.check ? "generate --check" : "generate: note";
  console.error(`${label}: ${decisions.length} decision(s) the spec leaves open:`);
  for (const decision of decisions) console.error(`- ${decision}`);
  if (values.check) process.exitCode = 1;
}
