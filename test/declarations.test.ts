// The shipped declaration files, as the build writes them (npm test builds before it tests).
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

describe("the shipped declarations", () => {
  it("carry no #private, which a consumer compiling for ES5 cannot read", async () => {
    for (const file of ["dist/index.d.ts", "dist/index.d.cts", "dist/testing.d.ts", "dist/redis.d.ts"]) {
      expect(await readFile(new URL(`../${file}`, import.meta.url), "utf8"), file).not.toContain("#private");
    }
  });
});
