// The spec-update workflow's last word before create-pull-request: the body is the change summary,
// and the pull request is a draft labelled `breaking` when spec:pull flags a breaking change or the
// tests fail, with the failing output in the body.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, tempDir } from "./support/run.ts";

const SCRIPT = path.join(ROOT, ".github/scripts/spec-update-pr.mjs");
const SUMMARY = "# PlanetScale spec changes\n\n- create_role: new optional field `replica_lag`\n";

let dir: string;
let cleanup: () => Promise<void>;
let runs = 0;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("psr-spec-update-pr-"));
});
afterAll(() => cleanup());

interface Scenario {
  changes: string;
  log?: string;
  generate?: string;
  test?: string;
}

/** Runs the script as the workflow does; returns the body it wrote and its step outputs. */
async function compose(scenario: Scenario) {
  const run = ++runs;
  const file = (name: string) => path.join(dir, `${run}-${name}`);
  await writeFile(file("summary.md"), SUMMARY);
  await writeFile(file("changes.json"), scenario.changes);
  await writeFile(file("output.txt"), scenario.log ?? "");
  await writeFile(file("github-output"), "");
  const args = [SCRIPT, "--summary", file("summary.md"), "--changes", file("changes.json")];
  args.push("--log", file("output.txt"), "--body", file("body.md"));
  args.push("--generate", scenario.generate ?? "success", "--test", scenario.test ?? "success");
  const code = await new Promise<number>((resolve) =>
    execFile(process.execPath, args, { env: { ...process.env, GITHUB_OUTPUT: file("github-output") } }, (error) =>
      resolve(error ? 1 : 0),
    ),
  );
  const outputs = Object.fromEntries(
    (await readFile(file("github-output"), "utf8"))
      .trim()
      .split("\n")
      .map((line) => line.split("=") as [string, string]),
  );
  return { code, body: await readFile(file("body.md"), "utf8"), draft: outputs.draft, labels: outputs.labels };
}

describe("the spec-update pull request", () => {
  it("is ready for review, with the summary as its body, when nothing breaks and the tests pass", async () => {
    const result = await compose({ changes: JSON.stringify({ breaking: 0, changes: [{ breaking: false }] }) });
    expect(result).toMatchObject({ code: 0, draft: "false", labels: "spec-update" });
    expect(result.body).toBe(SUMMARY);
  });

  it("is a draft labelled breaking when the summary flags a breaking change (breaking: true)", async () => {
    const result = await compose({ changes: JSON.stringify({ breaking: true }) });
    expect(result).toMatchObject({ draft: "always-true", labels: "spec-update,breaking" });
    expect(result.body).toBe(SUMMARY);
  });

  it("counts the breaking array's length: empty is not breaking, one entry is", async () => {
    const none = await compose({ changes: JSON.stringify({ breaking: [] }) });
    const one = await compose({ changes: JSON.stringify({ breaking: [{ operation: "create_role" }] }) });
    expect(none.labels).toBe("spec-update");
    expect(one.labels).toBe("spec-update,breaking");
  });

  it("treats change JSON it cannot read as breaking, and says so in the body", async () => {
    const result = await compose({ changes: "> planetscale-roles@0.1.0 spec:pull\n{" });
    expect(result.labels).toBe("spec-update,breaking");
    expect(result.body).toMatch(/could not be read; treated as breaking/);
  });

  it("is a draft labelled breaking, with the failing output in the body, when the tests fail", async () => {
    const log =
      "✓ test/roles.test.ts\n× test/retry.test.ts > retries list_roles after a 502\nAssertionError: expected 1";
    const result = await compose({ changes: JSON.stringify({ breaking: false }), log, test: "failure" });
    expect(result).toMatchObject({ draft: "always-true", labels: "spec-update,breaking" });
    expect(result.body.startsWith(SUMMARY.trimEnd())).toBe(true);
    expect(result.body).toMatch(/`npm test`: failure/);
    expect(result.body).toContain("× test/retry.test.ts > retries list_roles after a 502\nAssertionError: expected 1");
  });

  it("counts a failed generate as failing tests (npm test then never ran)", async () => {
    const result = await compose({
      changes: JSON.stringify({ breaking: false }),
      log: "generate: no retry policy row for operation merge_roles",
      generate: "failure",
      test: "skipped",
    });
    expect(result.labels).toBe("spec-update,breaking");
    expect(result.body).toContain("no retry policy row for operation merge_roles");
  });

  it("keeps the end of a long output and the whole body under GitHub's 65 536-character limit", async () => {
    const lines = Array.from({ length: 20_000 }, (_, index) => `line ${index} of the test output`);
    const result = await compose({ changes: "{}", log: lines.join("\n"), test: "failure" });
    expect(result.body.length).toBeLessThanOrEqual(65_536);
    expect(result.body).toContain("line 19999 of the test output");
    expect(result.body).not.toContain("line 0 of the test output\n");
    expect(result.body).toMatch(/earlier characters cut/);
  });

  it("fences output that contains backticks so it cannot end the code block early", async () => {
    const result = await compose({ changes: "{}", log: "```\nafter the fence", test: "failure" });
    expect(result.body).toMatch(/````text\n```\nafter the fence\n````/);
  });
});
