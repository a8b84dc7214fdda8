// The README's "Connecting with pg" and "Testing against a real Postgres" code is type-checked: each
// section's ts block is in its test/support/readme-pg-*.ts file word for word, which `npm run
// typecheck` checks.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "./support/run.ts";

it.each([
  ["### Connecting with pg", "test/support/readme-pg-pool.ts"],
  ["### Testing against a real Postgres", "test/support/readme-pg-testing.ts"],
])("shows in %s only the code that %s holds", async (heading, file) => {
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf(heading);
  expect(start).toBeGreaterThan(0);
  const section = readme.slice(start, readme.indexOf("\n### ", start + 1));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]);
  expect(blocks).toHaveLength(1);
  expect(await readFile(path.join(ROOT, file), "utf8")).toContain(blocks[0]);
});
