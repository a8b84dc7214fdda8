// The workflow linter that `npm test` runs (npm run lint:workflows): it passes the repo's own
// workflows and fails, naming file, line and problem, on the mistakes it exists to catch.
import { describe, expect, it } from "vitest";
import { runTs } from "./support/run.ts";

const lint = (...files: string[]) => runTs("scripts/lint-workflows.ts", files);

describe("lint:workflows", () => {
  it("passes the repo's own workflows", async () => {
    const result = await lint(".github/workflows/ci.yml", ".github/workflows/spec-update.yml");
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/2 workflow file\(s\) checked by actionlint, no problems/);
  });

  it("fails on a misspelled trigger and on a step outcome read from a step id that does not exist", async () => {
    const result = await lint("test/fixtures/workflows/broken-expressions.yml");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/broken-expressions\.yml:6:3: unknown Webhook event "pull_requests"/);
    expect(result.stderr).toMatch(/broken-expressions\.yml:14:13: property "tests" is not defined/);
    expect(result.stderr).toMatch(/2 problem\(s\) in 1 file\(s\)/);
  });

  it("fails on a file that is not YAML, and still lints the files after it", async () => {
    const result = await lint(
      "test/fixtures/workflows/broken-yaml.txt",
      "test/fixtures/workflows/broken-expressions.yml",
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/broken-yaml\.txt:4:1: Flow sequence .* \[syntax\]/);
    expect(result.stderr).toMatch(/broken-expressions\.yml:6:3: unknown Webhook event/);
  });
});
