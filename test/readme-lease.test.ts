// The README's "Long-running services" code is type-checked: each of its ts blocks is in
// test/support/readme-lease.ts word for word, and `npm run typecheck` checks that file.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "./support/run.ts";

it("shows in the Long-running services section only code that test/support/readme-lease.ts holds", async () => {
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("### Long-running services");
  const section = readme.slice(start, readme.indexOf("\n### ", start + 1));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
  const checked = await readFile(path.join(ROOT, "test/support/readme-lease.ts"), "utf8");
  expect(blocks).toHaveLength(3);
  for (const block of blocks) expect(checked).toContain(block);
});
