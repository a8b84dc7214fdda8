// What npm publishes besides the code: the licence package.json names travels with it.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "./support/run.ts";

it("packs a LICENSE whose text is the licence package.json names", async () => {
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: ROOT }, (error, out) =>
      error ? reject(error) : resolve(out),
    ),
  );
  const [packed] = JSON.parse(stdout) as { files: { path: string }[] }[];
  expect(packed?.files.map((file) => file.path)).toContain("LICENSE");
  const manifest = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as { license: string };
  const licence = await readFile(path.join(ROOT, "LICENSE"), "utf8");
  expect(manifest.license).toBe("MIT");
  expect(licence).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} planetscale-roles contributors\n/);
});
