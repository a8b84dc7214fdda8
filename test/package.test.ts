// The package as users meet it: the packed tarball is linted (publint, attw), installed into a
// project that has nothing else from this repo, imported from ESM, required from CJS, type-checked
// under node16 and bundler resolution, and its bin run. `npm test` builds dist/ before this runs.
import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { publint } from "publint";
import { formatMessage } from "publint/utils";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createProbe,
  documentedFields,
  errorMessages,
  hoverDocs,
  hoverText,
  type Probe,
  tsconfigOptions,
} from "./support/declarations.ts";
import { roleFixture } from "./support/fixtures.ts";
import { ROOT, tempDir } from "./support/run.ts";
import { json, startServer, type TestServer } from "./support/servers.ts";

function exec(file: string, args: string[], cwd: string, env: Record<string, string> = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(file, args, { cwd, env: { ...process.env, ...env }, timeout: 240_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

const npm = (args: string[], cwd: string) => exec("npm", args, cwd);

let dir: string;
let cleanup: () => Promise<void>;
let tarball: string;
let consumer: string;
let server: TestServer;

const CONSUMER_TS = `
import { createClient, connectionString, PlanetScaleError, type Role, type InheritedRole } from "planetscale-roles";

const ps = createClient({ serviceToken: { id: "id", token: "token" } });
export async function mint(): Promise<string> {
  const role: Role = await ps.createRole({ organization: "acme", database: "db", branch: "main", ttl: 60 });
  const inherited: InheritedRole[] = ["pg_read_all_data"];
  void inherited;
  // @ts-expect-error: ttl is a number of seconds
  await ps.createRole({ organization: "acme", database: "db", branch: "main", ttl: "60" });
  // @ts-expect-error: not an inherited role the spec lists
  await ps.createRole({ organization: "acme", database: "db", branch: "main", inherited_roles: ["root"] });
  // @ts-expect-error: branch is required
  await ps.createRole({ organization: "acme", database: "db" });
  // @ts-expect-error: no such option
  createClient({ serviceTokn: "a:b" });
  const error: unknown = undefined;
  if (error instanceof PlanetScaleError) error.status satisfies number | undefined;
  return connectionString(role);
}
`;

const CONSUMER_CTS = `
import roles = require("planetscale-roles");
export const client: roles.PlanetScaleClient = roles.createClient({ accessToken: "t" });
// @ts-expect-error: listRoles needs a branch
void client.listRoles({ organization: "acme", database: "db" });
`;

const RUN_ESM = `
import { createClient, connectionString, VERSION, InvalidRequestError } from "planetscale-roles";
const role = await createClient({ serviceToken: "a:b", baseUrl: process.env.URL }).createRole({ organization: "acme", database: "db", branch: "main" });
console.log(JSON.stringify({ version: VERSION, url: connectionString(role), invalid: typeof InvalidRequestError }));
`;

const RUN_CJS = `
const { createClient, connectionString, VERSION } = require("planetscale-roles");
createClient({ serviceToken: "a:b", baseUrl: process.env.URL })
  .createRole({ organization: "acme", database: "db", branch: "main" })
  .then((role) => console.log(JSON.stringify({ version: VERSION, url: connectionString(role) })));
`;

// What an editor meets when a service calls the client; `wrong` and the getRole without an id are
// deliberate type errors.
const hoverProbe = (specifier: string) => `
import { createClient } from "${specifier}";
const ps = createClient({ accessToken: "token" });
const where = { organization: "acme", database: "db", branch: "main" };
export async function probe() {
  const created = await ps.createRole(where);
  const fetched = await ps.getRole({ ...where, id: "r1" });
  const page = await ps.listRoles(where);
  const defaults = await ps.resetDefaultRole(where);
  for await (const listed of ps.listAllRoles(where)) void listed;
  const wrong: number = await ps.createRole(where);
  void ps.getRole(where);
  return [created.password, fetched, page, defaults, wrong];
}
`;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("psr-package-"));
  server = await startServer(json(200, roleFixture()));
  // dist/ was built by `npm test` (npm run build) just before: pack it as it is.
  const packed = await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT);
  expect(packed.code, packed.stderr).toBe(0);
  tarball = path.join(dir, JSON.parse(packed.stdout)[0].filename);
  consumer = path.join(dir, "consumer");
  await mkdir(consumer);
  await writeFile(
    path.join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true, type: "module" }),
  );
  const installed = await npm(
    ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball, "typescript@5.9.3", "@types/node@20.19.25"],
    consumer,
  );
  expect(installed.code, installed.stderr).toBe(0);
  await writeFile(path.join(consumer, "consumer.ts"), CONSUMER_TS);
  await writeFile(path.join(consumer, "consumer.cts"), CONSUMER_CTS);
  await writeFile(path.join(consumer, "esm.mjs"), RUN_ESM);
  await writeFile(path.join(consumer, "cjs.cjs"), RUN_CJS);
}, 300_000);
afterAll(async () => {
  await server?.close();
  await cleanup?.();
});

describe("the packed tarball", () => {
  it("passes publint --strict", async () => {
    const buffer = await readFile(tarball);
    const { messages, pkg } = await publint({
      pack: { tarball: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) },
      strict: true,
    });
    expect(messages.map((message) => formatMessage(message, pkg))).toEqual([]);
  });

  it("passes @arethetypeswrong/cli, leaving out only the spec's data entrypoint", async () => {
    const attw = path.join(ROOT, "node_modules/@arethetypeswrong/cli/dist/index.js");
    const run = await exec(
      process.execPath,
      [attw, tarball, "--exclude-entrypoints", "./openapi.yaml", "--format", "ascii"],
      dir,
    );
    expect(run.stdout + run.stderr).not.toMatch(/💀|❌|🐛|⚠️/);
    expect(run.code, run.stdout).toBe(0);
  });

  it("asks for its runtime dependencies by caret range, so that a user's tree can share their patch releases", async () => {
    const manifest = JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies).length).toBeGreaterThan(0);
    for (const [name, range] of Object.entries(manifest.dependencies)) {
      expect(range, name).toMatch(/^\^\d+\.\d+\.\d+$/);
    }
  });

  it("ships only dist, the spec, the docs and the licence", async () => {
    const listed = await exec("tar", ["-tzf", tarball], dir);
    const files = listed.stdout.trim().split("\n").sort();
    expect(files).toEqual([
      "package/CHANGELOG.md",
      "package/LICENSE",
      "package/README.md",
      "package/dist/bin.mjs",
      "package/dist/index.cjs",
      "package/dist/index.d.cts",
      "package/dist/index.d.ts",
      "package/dist/index.js",
      "package/dist/pg.cjs",
      "package/dist/pg.d.cts",
      "package/dist/pg.d.ts",
      "package/dist/pg.js",
      "package/dist/redis.cjs",
      "package/dist/redis.d.cts",
      "package/dist/redis.d.ts",
      "package/dist/redis.js",
      "package/dist/testing.cjs",
      "package/dist/testing.d.cts",
      "package/dist/testing.d.ts",
      "package/dist/testing.js",
      "package/openapi/planetscale.yaml",
      "package/package.json",
    ]);
  });
});

describe("installed in a project with nothing else from this repo", () => {
  it("imports from ESM and creates a role", async () => {
    const run = await exec(process.execPath, ["esm.mjs"], consumer, { URL: server.url });
    expect(run.stderr).toBe("");
    const out = JSON.parse(run.stdout);
    expect(out.version).toBe(JSON.parse(await readFile(path.join(ROOT, "package.json"), "utf8")).version);
    expect(out.url).toMatch(/^postgresql:\/\/ci_reader\.abc123:/);
    expect(out.invalid).toBe("function");
  });

  it("requires from CommonJS and creates a role", async () => {
    const run = await exec(process.execPath, ["cjs.cjs"], consumer, { URL: server.url });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout).url).toMatch(/^postgresql:\/\//);
  });

  it.each([
    ["node16", { module: "node16", moduleResolution: "node16" }],
    ["bundler", { module: "esnext", moduleResolution: "bundler" }],
  ])("type-checks a consumer under moduleResolution %s, misuse included", async (_name, resolution) => {
    const tsconfig = {
      compilerOptions: {
        ...resolution,
        target: "es2022",
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ["node"],
      },
      files: resolution.moduleResolution === "node16" ? ["consumer.ts", "consumer.cts"] : ["consumer.ts"],
    };
    const file = `tsconfig.${resolution.moduleResolution}.json`;
    await writeFile(path.join(consumer, file), JSON.stringify(tsconfig));
    const run = await exec(
      process.execPath,
      [path.join(consumer, "node_modules/typescript/bin/tsc"), "-p", file],
      consumer,
    );
    expect(run.stdout + run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  it("resolves the shipped spec as planetscale-roles/openapi.yaml", async () => {
    const run = await exec(
      process.execPath,
      [
        "-e",
        "process.stdout.write(require('fs').readFileSync(require.resolve('planetscale-roles/openapi.yaml'), 'utf8').slice(0, 40))",
      ],
      consumer,
    );
    expect(run.stdout).toMatch(/^openapi: 3\.0\.1/);
  });

  it("runs the bin", async () => {
    const bin = path.join(consumer, "node_modules/.bin/planetscale-roles");
    const help = await exec(bin, ["--help"], consumer);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: planetscale-roles <command>");
    const created = await exec(
      bin,
      ["create", "db", "main", "--org", "acme", "--base-url", server.url, "--format", "json"],
      consumer,
      {
        PLANETSCALE_SERVICE_TOKEN_ID: "id",
        PLANETSCALE_SERVICE_TOKEN: "token",
      },
    );
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout).username).toBe(roleFixture().username);
  });
});

describe("the shipped declarations, read as an editor reads them", () => {
  // The public params and result types, and every method's params and result as a caller meets them.
  const isPublic = (name: string) =>
    name.endsWith("Params") || ["Role", "RolePage", "ListedRole", "DefaultRoleCredentials"].includes(name);
  const consumerOptions: ts.CompilerOptions = {
    module: ts.ModuleKind.Node16,
    moduleResolution: ts.ModuleResolutionKind.Node16,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    types: ["node"],
    noEmit: true,
  };
  let fromSource: Probe;
  let shipped: Record<"esm" | "cjs", Probe>;
  beforeAll(() => {
    fromSource = createProbe(
      path.join(ROOT, "test/hover-probe.ts"),
      hoverProbe("../src/index.ts"),
      tsconfigOptions(path.join(ROOT, "tsconfig.json")),
    );
    shipped = {
      esm: createProbe(path.join(consumer, "hover-probe.ts"), hoverProbe("planetscale-roles"), consumerOptions),
      cjs: createProbe(path.join(consumer, "hover-probe.cts"), hoverProbe("planetscale-roles"), consumerOptions),
    };
  });

  it.each(["esm", "cjs"] as const)("keeps every field description the source has (%s)", (format) => {
    const source = documentedFields(fromSource, isPublic, "PlanetScaleClient");
    const packed = documentedFields(shipped[format], isPublic, "PlanetScaleClient");
    // The spec documents at least the path parameters of every form: an empty list means nothing was read.
    for (const [form, docs] of Object.entries(source)) expect(docs.documented.length, form).toBeGreaterThan(0);
    expect(Object.keys(packed).sort()).toEqual(Object.keys(source).sort());
    const documented = (all: Record<string, { documented: string[] }>) =>
      Object.fromEntries(Object.entries(all).map(([form, docs]) => [form, docs.documented]));
    expect(documented(packed)).toEqual(documented(source));
  });

  it.each(["esm", "cjs"] as const)("shows a field's description on hover (%s)", (format) => {
    const fromSpec = hoverDocs(fromSource, "password");
    expect(fromSpec).not.toBe("");
    expect(hoverDocs(shipped[format], "password")).toBe(fromSpec);
  });

  it.each(["esm", "cjs"] as const)("names results and params in hovers and error messages (%s)", (format) => {
    const probe = shipped[format];
    expect(hoverText(probe, "created")).toBe("const created: Role");
    expect(hoverText(probe, "fetched")).toBe("const fetched: Role");
    expect(hoverText(probe, "page")).toBe("const page: RolePage");
    expect(hoverText(probe, "defaults")).toBe("const defaults: DefaultRoleCredentials");
    // ListedRole is an alias of the page's item type, so a hover names whatever type that item has.
    expect(hoverText(probe, "listed")).toMatch(/^const listed: \w+$/);
    expect(errorMessages(probe)).toEqual([
      "Type 'Role' is not assignable to type 'number'.",
      expect.stringMatching(/^Argument of type '.*' is not assignable to parameter of type 'GetRoleParams'\.\n/),
    ]);
  });
});
