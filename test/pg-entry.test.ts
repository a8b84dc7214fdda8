// planetscale-roles/pg is the only entry that loads pg, an optional peer dependency: the main entry
// names it nowhere, and the in-memory fake needs it not at all. `npm test` builds dist/ first.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bareProject, node } from "./support/bare-project.ts";
import { ROOT } from "./support/run.ts";

const LOADS_PG = /from\s*"pg"|require\("pg"\)|import\("pg"\)/;

let project: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: project, cleanup } = await bareProject("no-pg"));
});
afterAll(() => cleanup?.());

describe("the main entry and the fake without pg", () => {
  it.each(["dist/index.js", "dist/index.cjs", "dist/testing.js", "dist/testing.cjs"])(
    "%s loads pg nowhere, while the pg entry does",
    async (file) => {
      const pgEntry = await readFile(path.join(ROOT, file.replace(/index|testing/, "pg")), "utf8");
      expect(pgEntry).toMatch(LOADS_PG);
      expect(await readFile(path.join(ROOT, file), "utf8")).not.toMatch(LOADS_PG);
    },
  );

  it("imports the main entry and runs the in-memory fake in a project that does not have pg", async () => {
    const script = `
      const { createClient } = await import("planetscale-roles");
      const { createFakePlanetScale } = await import("planetscale-roles/testing");
      const fake = createFakePlanetScale();
      const ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
      const role = await ps.createRole({ organization: "o", database: "d", branch: "b", name: "nopg" });
      console.log(role.username.split(".")[0], fake.roles().length);`;
    const run = await node(["--input-type=module", "-e", script], project);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("nopg 1");
  });

  it("the fake with postgres answers 500 there, saying pg must be installed", async () => {
    const script = `
      const { createClient } = await import("planetscale-roles");
      const { createFakePlanetScale } = await import("planetscale-roles/testing");
      const fake = createFakePlanetScale({ postgres: "postgresql://admin:pw@127.0.0.1:1/postgres" });
      const ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken, maxRetries: 0 });
      await ps.createRole({ organization: "o", database: "d", branch: "b", name: "x" }).catch((e) => console.log(e.status, e.message));`;
    const run = await node(["--input-type=module", "-e", script], project);
    expect(run.stdout).toContain("500");
    expect(run.stdout).toContain("needs pg installed: npm install --save-dev pg");
  });

  it("fails to load planetscale-roles/pg there, naming the missing pg", async () => {
    const run = await node(["-e", 'require("planetscale-roles/pg")'], project);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("Cannot find module 'pg'");
  });
});

describe("the pg entry with pg installed", () => {
  it.each([
    ["ESM", ["--input-type=module", "-e", 'const m = await import("planetscale-roles/pg"); REPORT']],
    ["CommonJS", ["-e", 'const m = require("planetscale-roles/pg"); REPORT']],
  ])("loads from %s and makes a pg.Pool on a lease", async (_format, args) => {
    const report = `
      const pg = require("pg");
      const lease = { current: () => ({ id: "r", username: "u.x", password: "p", access_host_url: "127.0.0.1:1", database_name: "d" }), fresh: async () => lease.current() };
      const pool = m.createPool(lease, { ssl: false });
      console.log(pool instanceof pg.Pool, typeof pool.query);
      pool.end();`;
    const script = args.map((arg) =>
      arg.replace(
        "REPORT",
        `(async () => { const require = (await import("node:module")).createRequire(process.cwd() + "/"); ${report} })()`,
      ),
    );
    const run = await node(script, ROOT);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("true function");
  });

  it.each([
    [
      "ESM",
      [
        "--input-type=module",
        "-e",
        'const m = await import("planetscale-roles/pg"); const main = await import("planetscale-roles"); REPORT',
      ],
    ],
    [
      "CommonJS",
      ["-e", 'const m = require("planetscale-roles/pg"); const main = require("planetscale-roles"); REPORT'],
    ],
  ])(
    "refuses from %s with the main entry's InvalidRequestError: a bad argument, and a role connectionString refuses",
    async (_format, args) => {
      const report = `
      const refused = (error) => [error instanceof main.InvalidRequestError, error.field];
      let bad;
      try { m.createPool({}); } catch (error) { bad = refused(error); }
      const role = { id: "r", username: "u.x", password: "p", access_host_url: "127.0.0.1:0", database_name: "d" };
      const pool = m.createPool({ current: () => role, fresh: async () => role }, { ssl: false });
      const query = await pool.query("select 1").then(() => ["took it"], refused);
      console.log(JSON.stringify([bad, query]));
      await pool.end();`;
      const run = await node(
        args.map((arg) => arg.replace("REPORT", `(async () => { ${report} })()`)),
        ROOT,
      );
      expect(run.stderr).toBe("");
      expect(JSON.parse(run.stdout)).toEqual([
        [true, "lease"],
        [true, "access_host_url"],
      ]);
    },
  );
});
