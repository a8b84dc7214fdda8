// The credentials as environment lines, read back by each reader they are written for:
// --format env by bash `source` (exported to child processes) and by dotenv; --format docker-env
// by `docker run --env-file`. Docker is not installed here, so its documented rules are
// implemented below (readDockerEnvFile) and the output is checked against them.
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import dotenv from "dotenv";
import { parse } from "pg-connection-string";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDuration } from "../src/cli/duration.ts";
import { runCli } from "./support/cli.ts";
import { roleFixture } from "./support/fixtures.ts";
import { HARD_PASSWORDS } from "./support/passwords.ts";
import { tempDir } from "./support/run.ts";
import { startServer, type TestServer } from "./support/servers.ts";

const PASSWORDS = [...HARD_PASSWORDS, " leading and trailing spaces ", "#starts-like-a-comment", "export x=1"];
const KEYS = ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE", "DATABASE_URL"];

/**
 * `docker run --env-file` as documented ("each line in VAR=VAL format"; # starts a comment line)
 * and as docker/cli's opts/file.go implements it: lines split on \n (a trailing \r dropped), a
 * UTF-8 BOM dropped from the first line, leading whitespace trimmed, blank and # lines skipped,
 * split at the first "=", a name holding a space or tab is an error, and the value is taken
 * literally: no quotes removed, no trimming, no escapes.
 */
function readDockerEnvFile(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [index, raw] of text
    .replace(/^\uFEFF/, "")
    .split("\n")
    .entries()) {
    const line = raw.replace(/\r$/, "").replace(/^\s+/, "");
    if (line === "" || line.startsWith("#")) continue;
    const equals = line.indexOf("=");
    const name = equals === -1 ? line : line.slice(0, equals);
    if (/[ \t]/.test(name) || name === "")
      throw new Error(`line ${index + 1}: bad variable name ${JSON.stringify(name)}`);
    if (equals !== -1) values[name] = line.slice(equals + 1);
  }
  return values;
}

let server: TestServer;
let fileCount = 0;
let files: Awaited<ReturnType<typeof tempDir>>;
beforeAll(async () => {
  // Each create answers with the password it was asked to name the role: no queue, so the
  // concurrent tests below cannot take each other's answers.
  server = await startServer((request, res) => {
    const { name } = JSON.parse(request.body) as { name: string };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(roleFixture({ password: name })));
  });
  files = await tempDir("psr-env-");
});
afterAll(async () => {
  await server.close();
  await files.cleanup();
});

async function envFile(password: string, format: "env" | "docker-env"): Promise<{ text: string; file: string }> {
  const create = ["create", "app-db", "main", password, "--org", "acme"];
  const run = await runCli([...create, "--base-url", server.url, "--format", format]);
  expect(run.code, run.stderr).toBe(0);
  const file = path.join(files.dir, `${++fileCount}.env`);
  writeFileSync(file, run.stdout);
  return { text: run.stdout, file };
}

const bash = (script: string, file: string) => execFileSync("bash", ["-c", script, "_", file], { encoding: "utf8" });

describe.concurrent("--format env", () => {
  it("writes one export line per variable", async () => {
    const { text } = await envFile("plain_Passw0rd", "env");
    expect(
      text
        .trimEnd()
        .split("\n")
        .map((line) => /^export ([A-Z_]+)='/.exec(line)?.[1]),
    ).toEqual(KEYS);
  });

  it.each(PASSWORDS)("bash `source` exports %j to child processes", async (password) => {
    const { file } = await envFile(password, "env");
    // No `set -a`: the lines must export by themselves, so psql started from this shell sees them.
    const child = bash(`source "$1"; bash -c 'printf "%s\\0%s\\0%s" "$PGUSER" "$PGPASSWORD" "$DATABASE_URL"'`, file);
    const [user, seen, url] = child.split("\0");
    expect(user).toBe("ci_reader.abc123");
    expect(seen).toBe(password);
    expect(parse(url as string).password).toBe(password);
  });

  it.each(PASSWORDS)("dotenv reads %j (DATABASE_URL always; PGPASSWORD unless it holds ')", async (password) => {
    const { text } = await envFile(password, "env");
    const loaded = dotenv.parse(text);
    expect(Object.keys(loaded)).toEqual(KEYS);
    expect(parse(loaded.DATABASE_URL as string).password).toBe(password);
    if (!password.includes("'")) expect(loaded.PGPASSWORD).toBe(password);
  });

  it("says on stderr when dotenv would misread PGPASSWORD", async () => {
    const run = await runCli([
      "create",
      "app-db",
      "main",
      "it's",
      "--org",
      "acme",
      "--base-url",
      server.url,
      "--format",
      "env",
    ]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/PGPASSWORD holds a single quote.*dotenv.*DATABASE_URL/);
  });

  it("is not a docker env-file: docker refuses the export lines", async () => {
    const { text } = await envFile("plain_Passw0rd", "env");
    expect(() => readDockerEnvFile(text)).toThrow(/bad variable name "export PGHOST"/);
  });
});

describe.concurrent("--format docker-env", () => {
  it.each(PASSWORDS)("docker's env-file rules read %j exactly", async (password) => {
    const { text } = await envFile(password, "docker-env");
    const loaded = readDockerEnvFile(text);
    expect(Object.keys(loaded)).toEqual(KEYS);
    expect(loaded.PGPASSWORD).toBe(password);
    expect(loaded.PGUSER).toBe("ci_reader.abc123");
    expect(loaded.PGHOST).toBe("aws.connect.psdb.cloud");
    expect(parse(loaded.DATABASE_URL as string).password).toBe(password);
  });
});

describe("the docker env-file reader of this test", () => {
  it("follows the documented rules", () => {
    const text = "\uFEFF# comment\n\n  A='quoted' \r\nB=x=y\nC\n   #indented comment\n";
    expect(readDockerEnvFile(text)).toEqual({ A: "'quoted' ", B: "x=y" });
    expect(() => readDockerEnvFile("MY VAR=1")).toThrow(/bad variable name/);
  });
});

describe("durations for --ttl", () => {
  it.each([
    ["3600", 3600],
    ["0", 0],
    ["30m", 1800],
    ["24h", 86_400],
    ["7d", 604_800],
    ["1h30m", 5400],
    ["1d2h3m4s", 93_784],
    ["90s", 90],
  ])("reads %s as %i seconds", (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  it.each(["-5", "1.5", "1.5h", "abc", "10x", "", "h", "30m1h", "1e3"])("refuses %j", (text) => {
    const result = parseDuration(text);
    expect(result).toBeInstanceOf(Error);
    expect((result as Error).message).toContain("30m, 24h, 7d or 1h30m");
  });
});
