// npm run spec:pull -- [--from URL|FILE] [--json] [--fail-on-breaking] [--dry-run] [--summary-file F]
// Pulls PlanetScale's OpenAPI document (raw YAML/JSON, or a docs page embedding it), keeps the
// Roles operations, applies openapi/overlays, validates, says what changed against the current
// openapi/planetscale.yaml, and writes it with its lock. Nothing is written unless every step
// succeeded (and, with --fail-on-breaking, unless nothing breaks callers).
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { recordBreaking } from "./lib/decisions.ts";
import { printableLines, terminalJson } from "./lib/escape.ts";
import {
  DEFAULT_SOURCE,
  MAX_DOCUMENT_BYTES,
  type OpenApiDocument,
  parseDocument,
  pullSpec,
  SpecError,
  type SpecLock,
} from "./lib/spec.ts";
import { diffSpecs, formatSummary } from "./lib/spec-diff.ts";

const USAGE = `Usage: npm run spec:pull -- [options]
  --from <URL|FILE>      OpenAPI 3.x YAML or JSON, or a docs page with a fenced yaml block (default ${DEFAULT_SOURCE})
  --out <DIR>            where planetscale.yaml and its lock go (default openapi)
  --overlays <DIR>       overlays applied after filtering (default openapi/overlays)
  --json                 print the change summary as JSON
  --fail-on-breaking     exit 1, writing nothing, when a change breaks callers
  --dry-run              print the summary, write nothing
  --summary-file <FILE>  also write the Markdown summary there (for a pull request body)
Refused, writing nothing: a source over ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB, YAML aliases, and any $ref outside the document.`;

const parsed = (() => {
  try {
    return parseArgs({
      options: {
        from: { type: "string", default: DEFAULT_SOURCE },
        out: { type: "string", default: "openapi" },
        overlays: { type: "string", default: "openapi/overlays" },
        json: { type: "boolean", default: false },
        "fail-on-breaking": { type: "boolean", default: false },
        "dry-run": { type: "boolean", default: false },
        "summary-file": { type: "string" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (error) {
    console.error(`spec:pull: ${(error as Error).message}\n\n${USAGE}`);
    process.exit(2);
  }
})();
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const outDir = path.resolve(values.out);
const specPath = path.join(outDir, "planetscale.yaml");
const lockPath = path.join(outDir, "planetscale.lock.json");

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text);
  await rename(temporary, file);
}

try {
  const pulled = await pullSpec(values.from, path.resolve(values.overlays));
  const previousText = await readFile(specPath, "utf8").catch(() => undefined);
  const previous: OpenApiDocument = previousText
    ? parseDocument(previousText, specPath)
    : { openapi: "3.0.1", paths: {} };
  const changes = diffSpecs(previous, pulled.doc);
  const summary = formatSummary(changes, values.from);
  const breaking = changes.filter((change) => change.breaking).length;
  console.log(values.json ? terminalJson({ source: values.from, breaking, changes }) : summary);
  if (values["summary-file"]) await writeFile(values["summary-file"], `${summary}\n`);
  if (values["fail-on-breaking"] && breaking > 0) {
    console.error(
      `spec:pull: ${breaking} breaking change(s); ${path.relative(process.cwd(), specPath)} was left as it was.`,
    );
    process.exitCode = 1;
  } else if (!values["dry-run"]) {
    const previousLock: Partial<SpecLock> = JSON.parse(await readFile(lockPath, "utf8").catch(() => "{}"));
    // Same upstream bytes and same result: leave the lock's date alone, so no-op pulls change nothing.
    const unchanged = previousText === pulled.yaml && previousLock.sha256 === pulled.lock.sha256;
    if (!unchanged) {
      const recorded = recordBreaking(previousLock.breaking_changes, changes, pulled.lock.pulled_at);
      await mkdir(outDir, { recursive: true });
      await writeAtomically(specPath, pulled.yaml);
      await writeAtomically(lockPath, `${JSON.stringify({ ...pulled.lock, breaking_changes: recorded }, null, 2)}\n`);
    }
    const state = unchanged ? "unchanged" : "written; run `npm run generate` to bring src/generated in line";
    console.error(`${path.relative(process.cwd(), specPath)} ${state}.`);
    if (!unchanged && breaking > 0) {
      console.error(
        `${breaking} breaking change(s) recorded under "breaking_changes" in ${path.relative(process.cwd(), lockPath)}; ` +
          'npm test fails until each has a "decision" written there.',
      );
    }
  }
} catch (error) {
  if (!(error instanceof SpecError)) throw error;
  console.error(`spec:pull: ${printableLines(error.message)}`);
  console.error(`${path.relative(process.cwd(), specPath) || specPath} was left as it was.`);
  process.exitCode = 1;
}
