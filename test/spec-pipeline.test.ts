// spec:pull on the full upstream document (the fixture) keeps the Roles operations and applies the
// overlays, and generate --check catches generated code that drifted from its spec.
import { createHash } from "node:crypto";
import { access, cp, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { ROOT, runTs, tempDir } from "./support/run.ts";
import { externalRefTargets, type RefTargets, unpackUpstream } from "./support/spec-fixtures.ts";

const ROLES_OPERATIONS = [
  "create_role",
  "delete_role",
  "get_default_role",
  "get_role",
  "list_roles",
  "reassign_role_objects",
  "renew_role",
  "reset_default_role",
  "reset_role",
  "update_role",
];

describe("spec:pull from the full upstream document", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pulled: string;
  let upstream: Buffer;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    const { file, bytes } = await unpackUpstream(dir);
    upstream = bytes;
    const run = await runTs("scripts/pull-spec.ts", ["--from", file, "--out", dir]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain("planetscale.yaml written");
    pulled = await readFile(path.join(dir, "planetscale.yaml"), "utf8");
  }, 60_000);
  afterAll(() => cleanup());

  it("keeps exactly the ten Roles operations", () => {
    const doc = YAML.parse(pulled);
    const ids = Object.values(doc.paths).flatMap((item) =>
      Object.values(item as Record<string, { operationId?: string }>).map((op) => op.operationId),
    );
    expect(ids.sort()).toEqual(ROLES_OPERATIONS);
  });

  it("declares the service-token scheme beside oauth2", () => {
    const doc = YAML.parse(pulled);
    expect(doc.security).toEqual([{ oauth2: [] }, { serviceToken: [] }]);
    expect(doc.components.securitySchemes.serviceToken).toMatchObject({
      type: "apiKey",
      in: "header",
      name: "Authorization",
    });
  });

  it("writes off/on so that YAML 1.1 parsers read strings too", () => {
    const asYaml11 = YAML.parse(pulled, { version: "1.1" });
    const settings =
      asYaml11.paths["/organizations/{organization}/databases/{database}/branches/{branch}/roles"].post.requestBody
        .content["application/json"].schema.properties.require_where_on_delete;
    expect(settings.enum).toEqual(["off", "warn", "on"]);
  });

  it("records the upstream's sha256 and the operations kept in the lock", async () => {
    const lock = JSON.parse(await readFile(path.join(dir, "planetscale.lock.json"), "utf8"));
    expect(lock.sha256).toBe(createHash("sha256").update(upstream).digest("hex"));
    expect([...lock.operations].sort()).toEqual(ROLES_OPERATIONS);
  });
});

describe("generate --check", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    await cp(path.join(ROOT, "openapi/planetscale.yaml"), path.join(dir, "planetscale.yaml"));
    await cp(path.join(ROOT, "src/generated"), path.join(dir, "generated"), { recursive: true });
  });
  afterAll(() => cleanup());
  const check = () =>
    runTs("scripts/generate.ts", [
      "--check",
      "--spec",
      path.join(dir, "planetscale.yaml"),
      "--out",
      path.join(dir, "generated"),
    ]);

  it("passes when src/generated matches the spec", async () => {
    const run = await check();
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("fails when the spec was edited without regenerating", async () => {
    const specPath = path.join(dir, "planetscale.yaml");
    const spec = await readFile(specPath, "utf8");
    await writeFile(specPath, spec.replace("description: Time to live in seconds", "description: Lifetime in seconds"));
    const run = await check();
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("openapi.ts");
  });
});

describe("generate on a spec with external $refs (a hand edit of openapi/planetscale.yaml)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let refs: RefTargets;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    refs = await externalRefTargets(dir);
  });
  afterAll(async () => {
    await refs.server.close();
    await cleanup();
  });

  it.each([
    ["a local file", () => refs.file],
    ["a URL", () => refs.url],
  ])("refuses a $ref to %s, naming where it is, and writes, reads and fetches nothing", async (name, target) => {
    const doc = YAML.parse(await readFile(path.join(ROOT, "openapi/planetscale.yaml"), "utf8"));
    doc.components.schemas["Leak\u0007"] = { $ref: target() };
    const specPath = path.join(dir, `${name.replaceAll(" ", "-")}.yaml`);
    await writeFile(specPath, YAML.stringify(doc));
    const out = path.join(dir, `generated-${name.replaceAll(" ", "-")}`);
    const run = await runTs("scripts/generate.ts", ["--spec", specPath, "--out", out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("has a $ref outside the document at /components/schemas/Leak\\u0007/$ref");
    expect(run.stderr).not.toContain("\u0007");
    expect(refs.server.requests).toEqual([]);
    expect(`${run.stdout}${run.stderr}`).not.toContain(refs.marker);
    await expect(access(out)).rejects.toThrow(/ENOENT/);
  });
});
