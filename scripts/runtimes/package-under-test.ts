// The package as users get it: built, `npm pack`ed, installed into a consumer folder with
// nothing else from this repo, and the smoke suite bundled against that install. The suite imports
// ../../src/index.ts for its types; every bundle resolves that import to the installed tarball
// instead, and the bundle's inputs are checked to prove no source file slipped in.
import { execFile } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { type BuildOptions, build, type Plugin } from "esbuild";

const run = promisify(execFile);
const ROOT = path.resolve(import.meta.dirname, "../..");
const PACKAGE = "planetscale-roles";

export interface PackageUnderTest {
  /** Holds node_modules/planetscale-roles from the tarball, and smoke.mjs beside it. */
  consumer: string;
  /** The command-line entry (Node, Bun, Deno), importing the package by name. */
  cliBundle: string;
  /** One file for workerd: the suite and the installed package bundled together. */
  workerBundle: string;
  tarballFiles: string[];
}

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run("npm", args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/**
 * Sends the suite's `../../src/index.ts` and `../../src/testing/index.ts` to the installed package
 * (`planetscale-roles`, `planetscale-roles/testing`): left as imports, or bundled from them.
 */
function usePackedPackage(consumer: string, bundlePackage: boolean): Plugin {
  return {
    name: "use-packed-package",
    setup(builder) {
      builder.onResolve({ filter: /\/src\/(testing\/)?index\.ts$/ }, async (args) => {
        const entry = args.path.includes("/testing/") ? `${PACKAGE}/testing` : PACKAGE;
        if (!bundlePackage) return { path: entry, external: true };
        const resolved = await builder.resolve(entry, { kind: args.kind, resolveDir: consumer });
        return resolved.errors.length > 0 ? { errors: resolved.errors } : { path: resolved.path };
      });
    },
  };
}

async function bundle(entry: string, outfile: string, options: BuildOptions, consumer: string, bundlePackage: boolean) {
  const result = await build({
    entryPoints: [path.join(ROOT, "test/runtimes", entry)],
    outfile,
    bundle: true,
    format: "esm",
    target: "es2022",
    metafile: true,
    absWorkingDir: ROOT,
    logLevel: "silent",
    plugins: [usePackedPackage(consumer, bundlePackage)],
    ...options,
  });
  const inputs = Object.keys(result.metafile?.inputs ?? {});
  const fromSource = inputs.filter((input) => input.startsWith("src/"));
  if (fromSource.length > 0)
    throw new Error(`${entry}: bundled source instead of the tarball: ${fromSource.join(", ")}`);
  if (bundlePackage && !inputs.some((input) => input.includes(`node_modules/${PACKAGE}/dist/`))) {
    throw new Error(`${entry}: the installed ${PACKAGE} is not in the bundle (inputs: ${inputs.join(", ")})`);
  }
}

export async function preparePackage(workDir: string): Promise<PackageUnderTest> {
  // Built first, then packed without scripts: prepack's build would print into pack's JSON.
  await npm(["run", "build"], ROOT);
  const packed = JSON.parse(await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", workDir], ROOT)) as {
    filename: string;
    files: { path: string }[];
  }[];
  const [tarball] = packed;
  if (!tarball) throw new Error("npm pack produced no tarball");
  const tarballFiles = tarball.files.map((file) => file.path);
  if (!tarballFiles.includes("LICENSE")) throw new Error("the packed tarball has no LICENSE");
  const consumer = path.join(workDir, "consumer");
  await mkdir(consumer);
  await writeFile(path.join(consumer, "package.json"), '{ "private": true, "type": "module" }\n');
  const install = ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"];
  await npm([...install, path.join(workDir, tarball.filename)], consumer);
  const cliBundle = path.join(consumer, "smoke.mjs");
  await bundle("cli-entry.ts", cliBundle, { platform: "node" }, consumer, false);
  const workerBundle = path.join(workDir, "worker.mjs");
  await bundle(
    "worker-entry.ts",
    workerBundle,
    { platform: "browser", conditions: ["workerd", "worker", "browser"] },
    consumer,
    true,
  );
  return { consumer, cliBundle, workerBundle, tarballFiles };
}
