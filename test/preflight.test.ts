// The suite's own check of the machine: a missing redis-server stops npm test before any suite, naming the package.
import { describe, expect, it } from "vitest";
import { missingPrograms } from "./support/preflight.ts";

describe("before any suite runs", () => {
  it("finds redis-server on this machine's PATH", () => {
    expect(missingPrograms()).toBeUndefined();
  });

  it("names the package to install, for apt and brew, when redis-server is not on the PATH", () => {
    const words = missingPrograms({ ...process.env, PATH: "/nonexistent" });
    expect(words).toContain("`apt-get install redis-server`");
    expect(words).toContain("`brew install redis`");
  });
});
