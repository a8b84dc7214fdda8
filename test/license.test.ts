// The licence that travels in the tarball (test/package.test.ts lists it there) is the one
// package.json names.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "./support/run.ts";

it("LICENSE is the MIT licence package.json names, held by the project's contributors", async () => {
  const manifest = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as {
    license: string;
    files: string[];
  };
  const licence = await readFile(path.join(ROOT, "LICENSE"), "utf8");
  expect(manifest.license).toBe("MIT");
  expect(manifest.files).toContain("LICENSE");
  expect(licence).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} planetscale-roles contributors\n/);
});
