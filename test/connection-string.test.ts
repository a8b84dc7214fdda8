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

describe("connectionString refuses what it cannot turn into a working URL", () => {
  const refusal = (role: Parameters<typeof connectionString>[0], options?: unknown) => {
    try {
      connectionString(role, options as never);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidRequestError);
      return { message: (error as Error).message, field: (error as InvalidRequestError).field };
    }
    throw new Error("connectionString accepted it");
  };

  it("refuses an option it does not know, naming it and the options there are", () => {
    expect(refusal(roleFixture(), { sslmod: "disable" })).toEqual({
      message: "connectionString: options.sslmod must be left out: the options are private, database, port, sslmode",
      field: "options.sslmod",
    });
  });

  it.each([
    [
      { sslmode: "bogus" },
      'sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full; got "bogus"',
      "sslmode",
    ],
    [
      { sslmode: "" },
      'sslmode must be one of disable, allow, prefer, require, verify-ca, verify-full; got ""',
      "sslmode",
    ],
    [{ port: 0 }, "port must be an integer from 1 to 65535; got 0", "port"],
    [{ port: 65536 }, "port must be an integer from 1 to 65535; got 65536", "port"],
    [{ port: 5432.5 }, "port must be an integer from 1 to 65535; got 5432.5", "port"],
    [{ port: "5432" }, 'port must be an integer from 1 to 65535; got "5432"', "port"],
    [{ port: "05432" }, 'port must be an integer from 1 to 65535; got "05432"', "port"],
    [{ port: Number.NaN }, "port must be an integer from 1 to 65535; got null", "port"],
    [{ port: Number.POSITIVE_INFINITY }, "port must be an integer from 1 to 65535; got null", "port"],
    [{ port: -1 }, "port must be an integer from 1 to 65535; got -1", "port"],
    [{ port: 1.5 }, "port must be an integer from 1 to 65535; got 1.5", "port"],
    [{ database: "" }, 'database must be a non-empty string; got ""', "database"],
    [{ database: 7 }, "database must be a non-empty string; got 7", "database"],
    [{ private: "yes" }, 'private must be true or false; got "yes"', "private"],
  ])("refuses the option %o naming it and what it may be", (options, message, field) => {
    expect(refusal(roleFixture(), options)).toEqual({ message: `connectionString: ${message}`, field });
  });

  it.each([null, "sslmode=disable", ["private"]])("refuses options that are not an object: %o", (options) => {
    expect(refusal(roleFixture(), options)).toEqual({
      message: "connectionString: options must be an object of private, database, port, sslmode",
      field: "options",
    });
  });

  it.each([undefined, null, "postgresql://u:p@h/db"])("refuses a role that is not an object: %o", (role) => {
    expect(refusal(role as never)).toEqual({
      message: "connectionString: role must be a role object (username, password, access_host_url, database_name)",
      field: "role",
    });
  });

  const allowedHost =
    "a host name or address, with a port from 1 to 65535 (no leading 0) if any, and nothing else: no path, query or user (host, host:port, [IPv6]:port)";
  it.each([
    ["::1"],
    ["h.example.com:99999"],
    ["h.example.com:65536"],
    ["h.example.com:notaport"],
    ["h.example.com:0"],
    ["h.example.com:"],
    ["[::1"],
    ["[::1]:"],
    ["[::1]x"],
    ["h.example.com:5432:5432"],
    ["h.example.com?sslmode=disable"],
    ["https://h.example.com:99999"],
    [""],
    // A path, a query or a fragment would be dropped without a word: the URL would name another place.
    ["db.example.com/extra"],
    ["db.example.com:5432/extra"],
    ["https://db.example.com/x"],
    ["https://db.example.com:6432/x/"],
    ["db.example.com//"],
    ["https://h.example.com?sslmode=disable"],
    ["https://h.example.com#x"],
    // A port with leading zeros is read as another number by some parsers (octal), by none as written.
    ["h.example.com:05432"],
    ["h.example.com:00"],
    ["[::1]:05432"],
    ["https://h.example.com:05432"],
  ])("refuses the host %j naming the field and the forms it may take", (host) => {
    expect(refusal(roleFixture({ access_host_url: host }))).toEqual({
      message: `connectionString: access_host_url must be ${allowedHost}; got ${JSON.stringify(host)}`,
      field: "access_host_url",
    });
  });

  it("names private_access_host_url when the private host is the one refused", () => {
    expect(refusal(roleFixture({ private_access_host_url: "::1" }), { private: true })).toEqual({
      message: `connectionString: private_access_host_url must be ${allowedHost}; got "::1"`,
      field: "private_access_host_url",
    });
  });

  it("never repeats what precedes an @ in a refused host, where a password would be", () => {
    const { message } = refusal(roleFixture({ access_host_url: "admin:hunter2@h.example.com:99999" }));
    expect(message).toBe(`connectionString: access_host_url must be ${allowedHost}; got "…@h.example.com:99999"`);
    const acrossLines = refusal(roleFixture({ access_host_url: "admin\n:hunter2@h.example.com:99999" })).message;
    expect(acrossLines).toBe(`connectionString: access_host_url must be ${allowedHost}; got "…@h.example.com:99999"`);
    // A URL's user and password were dropped without a word: refused now, and not repeated either.
    const inUrl = refusal(roleFixture({ access_host_url: "https://admin:hunter2@h.example.com" })).message;
    expect(inUrl).toBe(`connectionString: access_host_url must be ${allowedHost}; got "…@h.example.com"`);
  });

  it("keeps what works: an IPv6 address in brackets, a host's port, a URL's host, and the port option", () => {
    expect(parse(connectionString(roleFixture({ access_host_url: "[::1]:5432" })))).toMatchObject({
      host: "::1",
      port: "5432",
    });
    expect(parse(connectionString(roleFixture({ access_host_url: "[::1]" }), { port: 6543 }))).toMatchObject({
      host: "::1",
      port: "6543",
    });
    expect(parse(connectionString(roleFixture({ access_host_url: "h.example.com:6543" }))).port).toBe("6543");
    expect(parse(connectionString(roleFixture({ access_host_url: "h.example.com:65535" }))).port).toBe("65535");
    expect(parse(connectionString(roleFixture({ access_host_url: "h.example.com:1" }))).port).toBe("1");
    expect(parse(connectionString(roleFixture(), { port: 1 })).port).toBe("1");
    expect(parse(connectionString(roleFixture({ access_host_url: "HTTPS://h.example.com" }))).host).toBe(
      "h.example.com",
    );
    // A root path says nothing; a URL's port is kept as written, https's own 443 too (new URL drops it).
    for (const host of ["h.example.com/", "https://h.example.com/", " https://h.example.com "]) {
      expect(connectionString(roleFixture({ access_host_url: host }))).toContain("@h.example.com:5432/app-db?");
    }
    expect(parse(connectionString(roleFixture({ access_host_url: "https://h.example.com:443/" }))).port).toBe("443");
    expect(parse(connectionString(roleFixture({ access_host_url: "postgresql://[::1]:6432" })))).toMatchObject({
      host: "::1",
      port: "6432",
    });
    expect(connectionString(roleFixture(), { port: 65535, private: false, sslmode: "disable" })).toMatch(
      /@aws\.connect\.psdb\.cloud:65535\/app-db\?sslmode=disable$/,
    );
  });
});
