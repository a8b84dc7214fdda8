// The shipped declaration files, as the build writes them (npm test builds before it tests).
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { DECLARATIONS_TARGET, declarationSizes } from "./support/package-size.ts";
import { ROOT } from "./support/run.ts";

describe("the shipped declarations", () => {
  it("carry no #private, which a consumer compiling for ES5 cannot read", async () => {
    for (const file of ["dist/index.d.cts", "dist/testing.d.cts", "dist/redis.d.cts", "dist/pg.d.cts"]) {
      expect(await readFile(new URL(`../${file}`, import.meta.url), "utf8"), file).not.toContain("#private");
    }
  });

  it("weigh at most 200 kB together, every entry in both formats (issue 16)", async () => {
    const sizes = await declarationSizes(ROOT);
    // Four entries, each with its import and its require types: a shorter list would weigh less unread.
    expect(sizes).toHaveLength(8);
    expect(sizes.reduce((sum, [, size]) => sum + size, 0)).toBeLessThanOrEqual(DECLARATIONS_TARGET);
  });
});
