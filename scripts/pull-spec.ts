// npm run spec:pull -- [--from URL|FILE] [--out DIR]
// Pulls PlanetScale's OpenAPI document, keeps the Roles operations, applies openapi/overlays and
// writes openapi/planetscale.yaml with its lock. Nothing is written unless every step succeeded.
import { readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { DEFAULT_SOURCE, pullSpec, SpecError } from "./lib/spec.ts";

const { values } = parseArgs({
  options: {
    from: { type: "string", default: DEFAULT_SOURCE },
    out: { type: "string", default: "openapi" },
  },
});

const outDir = path.resolve(values.out);
const specPath = path.join(outDir, "planetscale.yaml");
const lockPath = path.join(outDir, "planetscale.lock.json");

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

try {
  const pulled = await pullSpec(values.from, path.join(outDir, "overlays"));
  const previous = await readFile(specPath, "utf8").catch(() => undefined);
  await writeAtomically(specPath, pulled.yaml);
  await writeAtomically(lockPath, `${JSON.stringify(pulled.lock, null, 2)}\n`);
  const changed = previous === pulled.yaml ? "unchanged" : "updated";
  console.log(
    `${path.relative(process.cwd(), specPath)} ${changed}: ${pulled.lock.operations.length} operations from ${values.from}`,
  );
} catch (error) {
  if (!(error instanceof SpecError)) throw error;
  console.error(`spec:pull: ${error.message}`);
  console.error("openapi/planetscale.yaml was left as it was.");
  process.exitCode = 1;
}
