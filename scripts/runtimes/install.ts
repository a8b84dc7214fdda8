// Installs the pinned runtimes into .cache/runtimes (git-ignored) with npm, once: a later run whose
// pins are unchanged reuses the folder. Install scripts are not run (npm here may refuse them, and
// they only link binaries): each binary is taken from the platform package its wrapper depends on.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { RUNTIME_VERSIONS } from "./versions.ts";

const run = promisify(execFile);

export interface InstalledRuntimes {
  node22: string;
  node24: string;
  bun: string;
  deno: string;
  /** miniflare's main module, imported by the host script that node24 runs. */
  miniflare: string;
  versions: { node22: string; node24: string; bun: string; deno: string; miniflare: string; workerd: string };
  /** False when the cache already held these pins. */
  installedNow: boolean;
}

function manifest(): string {
  const nodePackage = `node-${process.platform}-${process.arch}`;
  const dependencies = {
    node22: `npm:${nodePackage}@${RUNTIME_VERSIONS.node22}`,
    node24: `npm:${nodePackage}@${RUNTIME_VERSIONS.node24}`,
    bun: RUNTIME_VERSIONS.bun,
    deno: RUNTIME_VERSIONS.deno,
    miniflare: RUNTIME_VERSIONS.miniflare,
  };
  return `${JSON.stringify({ private: true, description: "npm run test:runtimes cache", dependencies }, null, 2)}\n`;
}

interface Manifest {
  version: string;
  main?: string;
  optionalDependencies?: Record<string, string>;
}

async function packageJson(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(path.join(dir, "package.json"), "utf8"));
}

/** The binary inside whichever of `wrapper`'s platform packages npm installed on this machine. */
async function platformBinary(modules: string, wrapper: string, binary: string): Promise<string> {
  const { optionalDependencies = {} } = await packageJson(path.join(modules, wrapper));
  for (const name of Object.keys(optionalDependencies)) {
    const candidate = path.join(modules, name, binary);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(
    `${wrapper}: none of its platform packages (${Object.keys(optionalDependencies).join(", ")}) is installed`,
  );
}

export async function installRuntimes(cacheDir: string): Promise<InstalledRuntimes> {
  const wanted = manifest();
  const stamp = path.join(cacheDir, "installed.json");
  const current = await readFile(stamp, "utf8").catch(() => "");
  const installedNow = current !== wanted;
  if (installedNow) {
    await mkdir(cacheDir, { recursive: true });
    await writeFile(path.join(cacheDir, "package.json"), wanted);
    await run("npm", ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: cacheDir,
      maxBuffer: 16 * 1024 * 1024,
    });
    await writeFile(stamp, wanted);
  }
  const modules = path.join(cacheDir, "node_modules");
  const workerd = await packageJson(path.join(modules, "workerd"));
  const miniflare = await packageJson(path.join(modules, "miniflare"));
  return {
    node22: path.join(modules, "node22", "bin", "node"),
    node24: path.join(modules, "node24", "bin", "node"),
    bun: await platformBinary(modules, "bun", "bin/bun"),
    deno: await platformBinary(modules, "deno", "deno"),
    miniflare: path.join(modules, "miniflare", miniflare.main ?? "index.js"),
    versions: {
      node22: (await packageJson(path.join(modules, "node22"))).version,
      node24: (await packageJson(path.join(modules, "node24"))).version,
      bun: (await packageJson(path.join(modules, "bun"))).version,
      deno: (await packageJson(path.join(modules, "deno"))).version,
      miniflare: miniflare.version,
      workerd: workerd.version,
    },
    installedNow,
  };
}
