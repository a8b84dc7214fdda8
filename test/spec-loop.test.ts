// The spec-change loop, end to end, in a temporary copy of the repository: an additive upstream
// change goes through `npm run spec:pull -- --from <file> && npm run generate` and then the checks
// npm test starts with, with no hand edit; a change that needs a person fails those checks with a
// message that says what to decide and where. Each variant is the upstream fixture with one edit.
import { execFile } from "node:child_process";
import { cp, mkdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { keepRoles, parseDocument } from "../scripts/lib/spec.ts";
import { ROOT, type RunResult, tempDir } from "./support/run.ts";
import { unpackUpstream } from "./support/spec-fixtures.ts";

const ROLES = "/organizations/{organization}/databases/{database}/branches/{branch}/roles";
const ROLE = `${ROLES}/{id}`;
// What a fresh clone holds that the loop reads or checks; node_modules is linked, not copied.
// Each test runs npm, tsx and tsc several times over; a loaded 2-core machine needs room.
const CHILD_PROCESSES = { timeout: 180_000 };
const COPIED = [
  "src",
  "scripts",
  "openapi",
  "test",
  "bench",
  "package.json",
  "tsconfig.json",
  "tsdown.config.ts",
  "vitest.config.ts",
];

let work: string;
let repo: string;
let cleanup: () => Promise<void>;
// biome-ignore lint/suspicious/noExplicitAny: variants edit arbitrary places of the parsed upstream document.
let upstream: any;

function run(command: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: repo, timeout: 120_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const npmRun = (script: string, ...args: string[]) =>
  run("npm", ["run", "--silent", script, ...(args.length > 0 ? ["--", ...args] : [])]);
const typecheck = () => run(process.execPath, [path.join(repo, "node_modules/typescript/bin/tsc"), "--noEmit"]);

/** The upstream document with one edit, written where spec:pull can read it. */
async function variant(
  name: string,
  // biome-ignore lint/suspicious/noExplicitAny: see `upstream`.
  edit: (doc: any) => void,
): Promise<string> {
  const doc = structuredClone(upstream);
  edit(doc);
  const file = path.join(work, `${name}.json`);
  await writeFile(file, JSON.stringify(doc));
  return file;
}

/** `npm run spec:pull -- --from <file> && npm run generate`, as a person or the weekly workflow runs it. */
async function pullAndGenerate(file: string, ...pullArgs: string[]): Promise<{ pull: RunResult; generate: RunResult }> {
  const pull = await npmRun("spec:pull", "--from", file, ...pullArgs);
  const generate = pull.code === 0 ? await npmRun("generate") : { code: -1, stdout: "", stderr: "not run" };
  return { pull, generate };
}

const readRepo = (file: string) => readFile(path.join(repo, file), "utf8");

beforeAll(async () => {
  ({ dir: work, cleanup } = await tempDir("psr-loop-"));
  repo = path.join(work, "repo");
  await mkdir(repo);
  for (const entry of COPIED) await cp(path.join(ROOT, entry), path.join(repo, entry), { recursive: true });
  await symlink(path.join(ROOT, "node_modules"), path.join(repo, "node_modules"), "dir");
  const { file, bytes } = await unpackUpstream(work);
  // The variants keep only what spec:pull keeps (the Roles operations, before any overlay): the
  // same upstream for the loop, at a fiftieth of the size, so that each pull takes a moment.
  upstream = await keepRoles(parseDocument(bytes.toString("utf8"), file));
  // Start from the fixture itself, as the first pull of a repository would, so that these tests
  // depend on the fixture and src/, not on how far the committed spec has moved since.
  await rm(path.join(repo, "openapi/planetscale.yaml"));
  await rm(path.join(repo, "openapi/planetscale.lock.json"));
  const { pull, generate } = await pullAndGenerate(await variant("baseline", () => {}));
  expect(pull.code, pull.stderr).toBe(0);
  expect(generate.code, generate.stderr).toBe(0);
  await cp(path.join(repo, "openapi"), path.join(work, "baseline/openapi"), { recursive: true });
  await cp(path.join(repo, "src"), path.join(work, "baseline/src"), { recursive: true });
}, CHILD_PROCESSES.timeout);
afterAll(() => cleanup());

beforeEach(async () => {
  for (const folder of ["openapi", "src"]) {
    await rm(path.join(repo, folder), { recursive: true });
    await cp(path.join(work, "baseline", folder), path.join(repo, folder), { recursive: true });
  }
});

describe("an additive upstream change", CHILD_PROCESSES, () => {
  it("passes generate --check and tsc after spec:pull and generate, with no hand edit", async () => {
    const file = await variant("additive", (doc) => {
      const create = doc.paths[ROLES].post;
      create.requestBody.content["application/json"].schema.properties.comment = {
        type: "string",
        description: "A note kept with the role",
      };
      create.responses["200"].content["application/json"].schema.properties.last_used_at = {
        type: "string",
        nullable: true,
        description: "When the role last connected",
      };
      create.requestBody.content["application/json"].schema.properties.inherited_roles.items.enum.push(
        "pg_signal_autovacuum_worker",
      );
    });
    const summaryFile = path.join(work, "additive-summary.md");
    const { pull, generate } = await pullAndGenerate(file, "--summary-file", summaryFile);
    expect(pull.code, pull.stderr).toBe(0);
    expect(generate.code, generate.stderr).toBe(0);
    const summary = await readFile(summaryFile, "utf8");
    expect(summary).toContain("3 change(s) to the Roles operations");
    expect(summary).toContain(", 0 breaking.");
    expect(summary).toContain("- `create_role` request `comment`: string added");
    expect(summary).toContain("- `create_role` response `last_used_at`: string | null added");
    expect(summary).toContain(
      '- `create_role` request `inherited_roles[]`: enum value "pg_signal_autovacuum_worker" added',
    );

    const check = await npmRun("generate", "--check");
    expect(check.code, check.stderr).toBe(0);
    const types = await typecheck();
    expect(types.code, types.stdout).toBe(0);
    expect(await readRepo("src/generated/openapi.ts")).toMatch(/last_used_at\?: string \| null;/);
    expect(await readRepo("src/generated/operations.ts")).toContain('"pg_signal_autovacuum_worker"');
  });
});

describe("a change that needs a decision", CHILD_PROCESSES, () => {
  it("a new Roles operation fails generate --check, naming the operationPolicy row to decide, until it is added", async () => {
    const file = await variant("new-operation", (doc) => {
      const renew = doc.paths[`${ROLE}/renew`].post;
      doc.paths[`${ROLE}/disable`] = { post: { ...structuredClone(renew), operationId: "disable_role" } };
    });
    const { pull, generate } = await pullAndGenerate(file);
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain(`- \`disable_role\`: POST ${ROLE}/disable added`);
    expect(generate.code, generate.stderr).toBe(0);

    const check = await npmRun("generate", "--check");
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(
      `operation disable_role (POST ${ROLE}/disable) has no row in operationPolicy (src/retry.ts): ` +
        "decide whether sending it again after a 5xx, a reset or a timeout is harmless (repeatable: true) " +
        "or could act twice (repeatable: false) in operationRules, say why in operationReasons, and list it in the " +
        "Retries table of README.md.",
    );

    const retry = await readRepo("src/retry.ts");
    const rule = "  disable_role: { repeatable: true },\n";
    const reason = '  disable_role: "disabling twice leaves it disabled",\n';
    const rulesEnd = "} as const satisfies Record<OperationId, OperationRule>;";
    const reasonsEnd = "} as const satisfies Record<OperationId, string>;";
    await writeFile(
      path.join(repo, "src/retry.ts"),
      retry.replace(rulesEnd, `${rule}${rulesEnd}`).replace(reasonsEnd, `${reason}${reasonsEnd}`),
    );
    const decided = await npmRun("generate", "--check");
    expect(decided.code, decided.stderr).toBe(0);
    const types = await typecheck();
    expect(types.code, types.stdout).toBe(0);
  });

  it("a removed response field is recorded in the lock and fails generate --check until its decision is written", async () => {
    const file = await variant("removed-field", (doc) => {
      const answer = doc.paths[ROLES].post.responses["200"].content["application/json"].schema;
      delete answer.properties.drop_failed;
      answer.required = answer.required.filter((name: string) => name !== "drop_failed");
    });
    const { pull, generate } = await pullAndGenerate(file, "--json");
    expect(pull.code, pull.stderr).toBe(0);
    const summary = JSON.parse(pull.stdout);
    expect(summary).toMatchObject({ source: file, breaking: 1 });
    expect(summary.changes).toEqual([expect.objectContaining({ field: "drop_failed", kind: "field-removed" })]);
    expect(generate.code, generate.stderr).toBe(0);
    const lock = JSON.parse(await readRepo("openapi/planetscale.lock.json"));
    expect(lock.breaking_changes).toEqual([
      {
        operation: "create_role",
        where: "response",
        field: "drop_failed",
        kind: "field-removed",
        detail: "string removed",
        pulled_at: lock.pulled_at,
        decision: "",
      },
    ]);

    const check = await npmRun("generate", "--check");
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(
      "openapi/planetscale.lock.json records 1 breaking change that nobody has acknowledged:\n" +
        "  - create_role response drop_failed: string removed\n" +
        "Decide what it means for callers (src/ code that sends or reads it, the README, CHANGELOG.md), " +
        'then write that decision in its "decision" field under "breaking_changes" in openapi/planetscale.lock.json.',
    );

    lock.breaking_changes[0].decision = "Role no longer has drop_failed; nothing in src/ read it; CHANGELOG says so.";
    await writeFile(path.join(repo, "openapi/planetscale.lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
    const decided = await npmRun("generate", "--check");
    expect(decided.code, decided.stderr).toBe(0);
  });
});
