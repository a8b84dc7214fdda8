import { parse } from "pg-connection-string";
import { describe, expect, it } from "vitest";
import { connectionString, InvalidRequestError } from "../src/index.ts";
import { roleFixture } from "./support/fixtures.ts";
import { HARD_PASSWORDS } from "./support/passwords.ts";

describe("connectionString", () => {
  it("builds postgresql://user:pass@host:5432/db?sslmode=verify-full", () => {
    expect(connectionString(roleFixture())).toBe(
      "postgresql://ci_reader.abc123:pscale_pw_S3cr3t-Only-Once@aws.connect.psdb.cloud:5432/app-db?sslmode=verify-full",
    );
  });

  it.each(HARD_PASSWORDS)("round-trips the password %j through pg-connection-string", (password) => {
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
