// Issue 12, "Layout": the command lives in src/cli/, and the library never imports from it, so
// that `import { createRole }` never pulls in argument parsing or output formats.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/run.ts";

const SRC = path.join(ROOT, "src");
const CLI = path.join(SRC, "cli");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.[cm]?tsx?$/.test(entry.name) ? [full] : [];
  });
}

/** Relative module specifiers of static imports, re-exports and dynamic imports that land in src/cli. */
function importsOfCli(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)].map(
    (match) => match[1] as string,
  );
  return specifiers.filter((specifier) => {
    if (!specifier.startsWith(".")) return false;
    const target = path.resolve(path.dirname(file), specifier);
    return target === CLI || target.startsWith(`${CLI}${path.sep}`);
  });
}

describe("the command's folder", () => {
  it("holds the command's entry, main, output and duration modules", () => {
    const files = sourceFiles(CLI).map((file) => path.relative(CLI, file));
    expect(files).toEqual(expect.arrayContaining(["bin.ts", "main.ts", "output.ts", "duration.ts"]));
    for (const old of ["cli.ts", "cli-output.ts", "bin.ts", "duration.ts"]) {
      expect(existsSync(path.join(SRC, old)), old).toBe(false);
    }
  });

  it("is imported by no file of the library", () => {
    const library = sourceFiles(SRC).filter((file) => !file.startsWith(`${CLI}${path.sep}`));
    expect(library.length).toBeGreaterThan(10);
    const offenders = library.flatMap((file) =>
      importsOfCli(file, readFileSync(file, "utf8")).map((specifier) => `${path.relative(ROOT, file)} -> ${specifier}`),
    );
    expect(offenders).toEqual([]);
  });

  it("the check sees every form of import that could reach it", () => {
    const file = path.join(SRC, "client.ts");
    const text = [
      'import { main } from "./cli/main.ts";',
      'export { printResult } from "./cli/output.ts";',
      'import "./cli/bin.ts";',
      'const lazy = await import("./cli/duration.ts");',
      'import { VERSION } from "./version.ts";',
      'import { x } from "./client-cli.ts";',
    ].join("\n");
    expect(importsOfCli(file, text)).toEqual(["./cli/main.ts", "./cli/output.ts", "./cli/bin.ts", "./cli/duration.ts"]);
  });

  it("is what the build's bin entry and package.json's bin point at", () => {
    const tsdown = readFileSync(path.join(ROOT, "tsdown.config.ts"), "utf8");
    expect(tsdown).toContain('entry: { bin: "src/cli/bin.ts" }');
    const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
    expect(pkg.bin).toEqual({ "planetscale-roles": "./dist/bin.mjs" });
  });
});
