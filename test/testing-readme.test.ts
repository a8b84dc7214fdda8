// The README's "Testing your service" example is the test file that runs, word for word.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "./support/run.ts";

it("the README shows test/readme-example.test.ts exactly as it runs", async () => {
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Testing your service"));
  const shown = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  const example = await readFile(path.join(ROOT, "test/readme-example.test.ts"), "utf8");
  expect(shown).toBe(example);
});
