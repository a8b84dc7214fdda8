// A project that has installed this package (dist/ and its one dependency) and nothing else, so that
// an entry's optional peer is missing there; and node run in it. `npm test` builds dist/ first.
import { execFile } from "node:child_process";
import { cp, mkdir, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { ROOT, tempDir } from "./run.ts";

export function node(args: string[], cwd: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

export async function bareProject(name: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const made = await tempDir(`psr-${name}-`);
  const installed = path.join(made.dir, "node_modules/planetscale-roles");
  await mkdir(installed, { recursive: true });
  await cp(path.join(ROOT, "package.json"), path.join(installed, "package.json"));
  await cp(path.join(ROOT, "dist"), path.join(installed, "dist"), { recursive: true });
  await symlink(path.join(ROOT, "node_modules/openapi-fetch"), path.join(made.dir, "node_modules/openapi-fetch"));
  await writeFile(path.join(made.dir, "package.json"), JSON.stringify({ name, private: true }));
  return made;
}
