// The suite's own check of the machine: a missing redis-server stops npm test before any suite, naming the package.

import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { closedToPostgres, missingPrograms } from "./support/preflight.ts";

describe("before any suite runs", () => {
  it("finds redis-server on this machine's PATH", () => {
    expect(missingPrograms()).toBeUndefined();
  });

  it("names the package to install, for apt and brew, when redis-server is not on the PATH", () => {
    const words = missingPrograms({ ...process.env, PATH: "/nonexistent" });
    expect(words).toContain("`apt-get install redis-server`");
    expect(words).toContain("`brew install redis`");
  });

  it("names the first folder the Postgres user cannot enter, when run as root", async () => {
    const top = await mkdtemp(path.join(tmpdir(), "psr-closed-"));
    try {
      const repo = path.join(top, "repo");
      await mkdir(repo, { mode: 0o755 });
      // mkdtemp makes its folder 0700, as `mktemp -d` does.
      expect(closedToPostgres(repo, true)).toContain(`cannot enter ${top}:`);
      expect(closedToPostgres(repo, false)).toBeUndefined();
    } finally {
      await rm(top, { recursive: true, force: true });
    }
  });
});
