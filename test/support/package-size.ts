// What the built package weighs, measured the same way by bench/package-cost.ts and by the tests that
// keep issue 16's targets: sizes are deterministic for a given build and tool versions (no timing).
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import ts from "typescript";

/** Issue 16: `import { createRole }` at most this many bytes min+gzip. */
export const CREATE_ROLE_GZIP_TARGET = 14_500;
/** Issue 16: Octokit core + plugin-retry + plugin-throttling, bundled the same way, min+gzip. */
export const OCTOKIT_GZIP = 17_000;
/** Issue 16: at most this fraction of Octokit's bundle. */
export const OCTOKIT_RATIO_TARGET = 0.85;
/** Issue 16: every entry's declarations, both formats, at most this many bytes together. */
export const DECLARATIONS_TARGET = 200_000;
/** Issue 16: type-checking a file that imports the package, at most this many times an empty file's types. */
export const TYPE_COST_TARGET = 1.5;

/**
 * `contents` bundled as a user's bundler would (esbuild, minified, ESM), resolving the package's own
 * name through "exports" to dist/ (not through the repo's tsconfig paths, which point at the sources):
 * the code, its bytes gzipped, and the files it was made from with the minified bytes each put in.
 */
export async function bundled(contents: string, root: string) {
  const result = await build({
    stdin: { contents, resolveDir: root, loader: "js" },
    // A main entry built into a temporary folder finds openapi-fetch where the shipped one does.
    nodePaths: [path.join(root, "node_modules")],
    tsconfigRaw: {},
    bundle: true,
    minify: true,
    format: "esm",
    platform: "neutral",
    mainFields: ["module", "main"],
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const code = result.outputFiles[0]?.contents ?? new Uint8Array();
  const text = new TextDecoder().decode(code);
  const output = Object.values(result.metafile.outputs)[0]?.inputs ?? {};
  const bySource = Object.entries(output).map(([file, { bytesInOutput }]) => [file, bytesInOutput] as const);
  return {
    text,
    min: code.length,
    gzip: gzipSync(code, { level: 9 }).length,
    inputs: Object.keys(result.metafile.inputs),
    bySource: bySource.sort(([, a], [, b]) => b - a),
  };
}

/**
 * What `import { createRole }` from the built main entry weighs. From "./src/index.ts" instead, the
 * bundle tells which source file its bytes come from (dist/index.js is one file), within about 0.5%.
 */
export function createRoleBundle(root: string, from = "./dist/index.js") {
  return bundled(`export { createRole } from ${JSON.stringify(from)};`, root);
}

/** Every declaration file the exports map names (each entry, imported and required), with its size. */
export async function declarationSizes(root: string): Promise<[file: string, bytes: number][]> {
  const pkg = JSON.parse(await readFile(path.join(root, "package.json"), "utf8"));
  const targets = Object.values(pkg.exports as Record<string, unknown>).filter(
    (target): target is Record<string, { types?: string }> => typeof target === "object" && target !== null,
  );
  const files = [...new Set(targets.flatMap((target) => Object.values(target).flatMap((mode) => mode.types ?? [])))];
  return Promise.all(files.map(async (file) => [file, (await stat(path.join(root, file))).size] as [string, number]));
}

/**
 * The types TypeScript creates to check one file in `root` (node16, strict, libraries checked too),
 * which is what an editor or tsc spends on it. The package is imported by its own name, so the
 * exports map picks dist's declarations as it does for a user.
 */
export function typesToCheck(root: string, text: string, extension: ".ts" | ".cts" = ".ts"): number {
  const file = path.join(root, `type-cost-probe${extension}`);
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    types: ["node"],
    skipLibCheck: false,
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, getSourceFile } = host;
  host.fileExists = (name) => name === file || fileExists(name);
  host.getSourceFile = (name, language, ...rest) =>
    name === file ? ts.createSourceFile(name, text, language) : getSourceFile(name, language, ...rest);
  const program = ts.createProgram([file], options, host);
  const problems = ts.getPreEmitDiagnostics(program);
  if (problems.length > 0) {
    throw new Error(ts.formatDiagnostics(problems, { ...host, getNewLine: () => "\n" } as ts.FormatDiagnosticsHost));
  }
  return program.getTypeCount();
}

/** Types to check a file that imports the package, over those of an empty file, from ESM and from CJS. */
export function typeCost(root: string): { empty: number; esm: number; cjs: number } {
  return {
    empty: typesToCheck(root, "export {};\n"),
    esm: typesToCheck(root, 'import * as roles from "planetscale-roles";\nexport const used = roles;\n'),
    cjs: typesToCheck(root, 'import roles = require("planetscale-roles");\nexport const used = roles;\n', ".cts"),
  };
}
