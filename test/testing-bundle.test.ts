// planetscale-roles/testing is its own entry: the main entry carries none of the fake, importing
// createRole costs what it cost before the fake existed, and the fake's own build loads without
// a node: module (listen() brings node:http in only when called). `npm test` builds dist/ first.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { build as bundle } from "esbuild";
import { build } from "tsdown";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import buildConfig from "../tsdown.config.ts";
import { createRoleBundle } from "./support/package-size.ts";
import { ROOT, tempDir } from "./support/run.ts";

// Strings that only the fake's code holds.
const FAKE_MARKERS = ["createFakePlanetScale", "api.planetscale.invalid", "failNext", "connection-reset"];

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir("psr-bundle-"));
});
afterAll(() => cleanup?.());

describe("the main entry", () => {
  it.each(["dist/index.js", "dist/index.cjs"])("%s holds none of the fake's code", async (file) => {
    const fake = await readFile(path.join(ROOT, "dist/testing.js"), "utf8");
    const main = await readFile(path.join(ROOT, file), "utf8");
    for (const marker of FAKE_MARKERS) {
      expect(fake, `the marker ${marker} must be the fake's`).toContain(marker);
      expect(main).not.toContain(marker);
    }
  });

  it('bundles `import { createRole } from "planetscale-roles"` to the same bytes as a main entry built alone', async () => {
    const configs = [buildConfig].flat();
    const main = configs.find((config) => JSON.stringify(config.entry).includes("src/index.ts"));
    await build({
      ...main,
      config: false,
      format: ["esm"],
      dts: false,
      outDir: dir,
      clean: true,
      logLevel: "silent",
    });
    const alone = await createRoleBundle(ROOT, path.join(dir, "index.js"));
    const shipped = await createRoleBundle(ROOT, "planetscale-roles");
    expect(shipped.inputs.filter((input) => !input.includes("node_modules/")).sort()).toEqual([
      "<stdin>",
      "dist/index.js",
    ]);
    expect(shipped.min).toBe(alone.min);
    for (const marker of FAKE_MARKERS) expect(shipped.text).not.toContain(marker);
  });
});

describe("planetscale-roles/testing", () => {
  it.each(["dist/testing.js", "dist/testing.cjs"])("%s imports no node: module when it loads", async (file) => {
    const code = await readFile(path.join(ROOT, file), "utf8");
    expect(code).not.toMatch(/\bimport\b[^;]*["']node:|require\(\s*["']node:/);
  });

  it.each(["dist/testing.js", "dist/testing.cjs"])(
    "%s has no import() expression, which workerd refuses when its specifier is not a literal",
    async (file) => {
      const code = await readFile(path.join(ROOT, file), "utf8");
      expect(code).not.toMatch(/\bimport\s*\(/);
    },
  );

  it.each(["browser", "neutral"] as const)(
    "bundles for the %s platform, as for a worker, without node:http",
    async (platform) => {
      const result = await bundle({
        stdin: { contents: `export { createFakePlanetScale } from "planetscale-roles/testing";`, resolveDir: ROOT },
        tsconfigRaw: {},
        bundle: true,
        format: "esm",
        platform,
        mainFields: ["module", "main"],
        write: false,
        logLevel: "silent",
      });
      expect(result.errors).toEqual([]);
      expect(result.outputFiles[0]?.text).toContain("api.planetscale.invalid");
    },
  );

  // Node resolves the package's own name through its exports map, as a user's project would.
  const USE_ESM = `
import { createClient } from "planetscale-roles";
import { createFakePlanetScale } from "planetscale-roles/testing";
const fake = createFakePlanetScale();
const ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
const role = await ps.createRole({ organization: "o", database: "d", branch: "b", name: "esm" });
console.log(role.username.split(".")[0], fake.roles().length);`;
  const USE_CJS = `
const { createClient } = require("planetscale-roles");
const { createFakePlanetScale } = require("planetscale-roles/testing");
const fake = createFakePlanetScale();
createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken })
  .createRole({ organization: "o", database: "d", branch: "b", name: "cjs" })
  .then((role) => console.log(role.username.split(".")[0], fake.roles().length));`;

  it.each([
    ["ESM", ["--input-type=module", "-e", USE_ESM], "esm 1"],
    ["CommonJS", ["--input-type=commonjs", "-e", USE_CJS], "cjs 1"],
  ])("loads from %s and serves the built client", async (_format, args, printed) => {
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, args as string[], { cwd: ROOT }, (error, stdout, stderr) =>
        error ? reject(new Error(stderr)) : resolve(stdout),
      );
    });
    expect(out.trim()).toBe(printed);
  });
});
