// planetscale-roles/redis is the only entry that loads ioredis, an optional peer dependency: the main
// entry names it nowhere and loads in a project that does not have it. `npm test` builds dist/ first.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bareProject, node } from "./support/bare-project.ts";
import { ROOT } from "./support/run.ts";

let project: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: project, cleanup } = await bareProject("no-redis"));
});
afterAll(() => cleanup?.());

describe("the main entry without ioredis", () => {
  it.each(["dist/index.js", "dist/index.cjs"])("%s names ioredis nowhere, while the redis entry does", async (file) => {
    const redisEntry = await readFile(path.join(ROOT, file.replace("index", "redis")), "utf8");
    expect(redisEntry).toMatch(/from "ioredis"|require\("ioredis"\)/);
    expect(await readFile(path.join(ROOT, file), "utf8")).not.toContain("ioredis");
  });

  it("imports from ESM and requires from CommonJS in a project that does not have ioredis", async () => {
    const esm = await node(
      ["--input-type=module", "-e", 'const m = await import("planetscale-roles"); console.log(typeof m.createClient)'],
      project,
    );
    expect(esm.stderr).toBe("");
    expect(esm.stdout.trim()).toBe("function");
    const cjs = await node(["-e", 'console.log(typeof require("planetscale-roles").createClient)'], project);
    expect(cjs.stderr).toBe("");
    expect(cjs.stdout.trim()).toBe("function");
  });

  it("fails to load planetscale-roles/redis there, naming the missing ioredis", async () => {
    const run = await node(["-e", 'require("planetscale-roles/redis")'], project);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain("Cannot find module 'ioredis'");
  });
});

describe("the redis entry with ioredis installed", () => {
  it.each([
    ["ESM", ["--input-type=module", "-e", 'const m = await import("planetscale-roles/redis"); REPORT']],
    ["CommonJS", ["-e", 'const m = require("planetscale-roles/redis"); REPORT']],
  ])("loads from %s and makes a limiter that paces locally when Redis is absent", async (_format, args) => {
    // Port 1 on loopback has nothing listening: the limiter warns once and the turn is granted.
    const report = `
      const warnings = [];
      const limiter = m.createRedisRateLimiter({ url: "redis://127.0.0.1:1", onWarning: (w) => warnings.push(w) });
      await limiter.acquire();
      limiter.close();
      console.log(JSON.stringify(warnings.length));`;
    const script = args.map((arg) => arg.replace("REPORT", `(async () => { ${report} })()`));
    const run = await node(script, ROOT);
    expect(run.stderr).toBe("");
    expect(run.stdout.trim()).toBe("1");
  });

  it.each([
    [
      "ESM",
      [
        "--input-type=module",
        "-e",
        'const m = await import("planetscale-roles/redis"); const { InvalidRequestError } = await import("planetscale-roles"); REPORT',
      ],
    ],
    [
      "CommonJS",
      [
        "-e",
        'const m = require("planetscale-roles/redis"); const { InvalidRequestError } = require("planetscale-roles"); REPORT',
      ],
    ],
  ])(
    "refuses an unknown option from %s with the main entry's InvalidRequestError, never the URL's password",
    async (_format, args) => {
      const report = `
      try {
        m.createRedisRateLimiter({ url: "redis://:hunter2@127.0.0.1:1", keyy: 1 }).close();
        console.log("accepted");
      } catch (error) {
        console.log(JSON.stringify([error instanceof InvalidRequestError, error.field, error.message]));
      }`;
      const run = await node(
        args.map((arg) => arg.replace("REPORT", report)),
        ROOT,
      );
      expect(run.stderr).toBe("");
      expect(JSON.parse(run.stdout)).toEqual([
        true,
        "options.keyy",
        "createRedisRateLimiter: options.keyy must be left out: the options are url, client, key, commandTimeoutMs, onWarning, clock",
      ]);
    },
  );
});
