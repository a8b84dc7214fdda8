import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import dotenv from "dotenv";
import { parse } from "pg-connection-string";
import { describe, expect, it } from "vitest";
import { parseDuration } from "../src/cli/duration.ts";
import { envLines } from "../src/cli/output.ts";
import { connectionString, InvalidRequestError } from "../src/index.ts";
import { roleFixture } from "./support/fixtures.ts";
import { tempDir } from "./support/run.ts";

const RESERVED = ":/?#[]@!$&'()*+,;=%\"<>\\^`{|} ";
const NON_ASCII = "pässwörd-密码-🔑-ñ";
const PASSWORDS = [
  RESERVED,
  NON_ASCII,
  `${RESERVED}${NON_ASCII}`,
  ...[...RESERVED].map((c) => `pw${c}x${c}`),
  "plain_Passw0rd",
];

describe("connectionString", () => {
  it("builds postgresql://user:pass@host:5432/db?sslmode=verify-full", () => {
    expect(connectionString(roleFixture())).toBe(
      "postgresql://ci_reader.abc123:pscale_pw_S3cr3t-Only-Once@aws.connect.psdb.cloud:5432/app-db?sslmode=verify-full",
    );
  });

  it.each(PASSWORDS)("round-trips the password %j through pg-connection-string", (password) => {
    const username = `user${password}`;
    const parsed = parse(connectionString(roleFixture({ username, password, database_name: "app-db" })));
    expect(parsed.password).toBe(password);
    expect(parsed.user).toBe(username);
    expect(parsed.host).toBe("aws.connect.psdb.cloud");
    expect(parsed.port).toBe("5432");
    expect(parsed.database).toBe("app-db");
  });

  it("keeps a port that the host names, and can use the private host", () => {
    const role = roleFixture({ access_host_url: "eu.connect.psdb.cloud:6432", private_access_host_url: "10.1.2.3" });
    expect(parse(connectionString(role)).port).toBe("6432");
    expect(parse(connectionString(role, { private: true })).host).toBe("10.1.2.3");
    expect(connectionString(role, { sslmode: "require", database: "other" })).toMatch(/\/other\?sslmode=require$/);
  });

  it("refuses a role without a host or password", () => {
    expect(() => connectionString(roleFixture({ access_host_url: "" }))).toThrow(InvalidRequestError);
    expect(() => connectionString(roleFixture({ password: "" }))).toThrow(/no password/);
  });
});

describe("env lines", () => {
  it("survive both `source` in bash and dotenv, for every reserved and non-ASCII character", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      // dotenv and sh cannot agree on a value holding ' (see quoteEnvValue); bash is checked on it too.
      for (const password of PASSWORDS) {
        const file = path.join(dir, ".env");
        writeFileSync(file, `${envLines(roleFixture({ password })).join("\n")}\n`);
        const sourced = execFileSync("bash", ["-c", `set -a; source "$1"; printf '%s' "$PGPASSWORD"`, "_", file], {
          encoding: "utf8",
        });
        expect(sourced).toBe(password);
        const url = execFileSync("bash", ["-c", `source "$1"; printf '%s' "$DATABASE_URL"`, "_", file], {
          encoding: "utf8",
        });
        expect(parse(url).password).toBe(password);
        const loaded = dotenv.parse(readFileSync(file, "utf8"));
        expect(parse(loaded.DATABASE_URL as string).password).toBe(password);
        if (!password.includes("'")) expect(loaded.PGPASSWORD).toBe(password);
      }
    } finally {
      await cleanup();
    }
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
