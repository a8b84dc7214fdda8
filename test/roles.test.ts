// What this file proves: the Roles resource. Every operation against Prism; listAllRoles across pages,
// whatever the loop or the server does; deletes with a successor and 404s; createTemporaryRole's
// ttl, callback and clean-up; and recoverAmbiguous, each judged by what reaches the server.
import { inspect } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, expectTypeOf, inject, it } from "vitest";
import { RoleLeftBehindError } from "../src/errors.ts";
import {
  AbortError,
  ConnectionError,
  connectionString,
  createClient,
  InvalidRequestError,
  type ListedRole,
  type PlanetScaleClient,
  PlanetScaleError,
  type Role,
  ServerError,
  UnexpectedResponseError,
} from "../src/index.ts";
import { MAX_LIST_PAGES, TEMPORARY_ROLE_TTL } from "../src/roles.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { manualClock } from "./support/clock.ts";
import { failure } from "./support/failure.ts";
import { clientOnFake } from "./support/fake-client.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { clientForTests, serverForTests } from "./support/per-test.ts";
import { type RolesServer, startRolesServer } from "./support/roles-server.ts";
import { closedPort, json } from "./support/servers.ts";

const prismUrl = inject("prismUrl");
const ROLE = { ...BRANCH, id: "role-1" };

describe("every Roles operation against Prism", () => {
  const ps = createClient({ serviceToken: "id:secret", baseUrl: prismUrl });

  it("listRoles returns one page as the API gives it", async () => {
    const page = await ps.listRoles({ ...BRANCH, page: 2, per_page: 10, q: "ci", status: "active" });
    expect(Array.isArray(page.data)).toBe(true);
    expect(typeof page.current_page).toBe("number");
  });

  it("getRole, updateRole and renewRole return the role", async () => {
    expect(typeof (await ps.getRole(ROLE)).username).toBe("string");
    const updated = await ps.updateRole({ ...ROLE, name: "renamed", require_where_on_delete: "warn" });
    expect(typeof updated.id).toBe("string");
    expect(typeof (await ps.renewRole(ROLE)).expires_at).not.toBe("undefined");
  });

  it("resetRole and resetDefaultRole return a new password, masked when printed", async () => {
    const reset = await ps.resetRole(ROLE);
    expect(typeof reset.password).toBe("string");
    expect(inspect(reset)).toContain("[redacted]");
    const defaults = await ps.resetDefaultRole(BRANCH);
    expect(Object.keys(defaults).sort()).toEqual(["access_host_url", "password", "username"]);
  });

  it("getDefaultRole returns the default role", async () => {
    expect(typeof (await ps.getDefaultRole(BRANCH)).default).toBe("boolean");
  });

  it("deleteRole (with a successor) and reassignRoleObjects answer 204 with nothing", async () => {
    await expect(ps.deleteRole({ ...ROLE, successor: "role-2" })).resolves.toBeUndefined();
    await expect(ps.reassignRoleObjects({ ...ROLE, successor: "role-2" })).resolves.toBeUndefined();
  });
});

describe("against a stateful server", () => {
  // The server's clock stamps created_at: steered, so that roles are made seconds apart at once.
  const serverClock = manualClock(Date.now());
  let server: RolesServer;
  let ps: PlanetScaleClient;
  beforeAll(async () => {
    server = await startRolesServer(serverClock);
  });
  afterAll(() => server.close());
  beforeEach(() => {
    server.reset();
    server.roles.length = 0;
    server.deleted.length = 0;
    ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 });
  });

  it("listAllRoles follows next_page across several pages", async () => {
    for (const name of ["a", "b", "c", "d", "e"]) await ps.createRole({ ...BRANCH, name });
    const names: string[] = [];
    const all = ps.listAllRoles({ ...BRANCH, per_page: 2 });
    expectTypeOf(all).toEqualTypeOf<AsyncIterable<ListedRole>>();
    for await (const role of all) names.push(role.name);
    expect(names).toEqual(["a", "b", "c", "d", "e"]);
    const pages = server.requests
      .filter((r) => r.method === "GET")
      .map((r) => new URL(r.url, server.url).searchParams.get("page"));
    expect(pages).toEqual(["1", "2", "3"]);
  });

  it("listAllRoles refuses a next_page that does not move forward", async () => {
    server.next(json(200, { data: [], current_page: 1, next_page: 1 }));
    const iterate = async () => {
      for await (const _ of ps.listAllRoles(BRANCH)) {
        // nothing to do: the second page must never be asked for
      }
    };
    await expect(iterate()).rejects.toBeInstanceOf(UnexpectedResponseError);
  });

  it("deleteRole sends the successor and the role is gone", async () => {
    const role = await ps.createRole({ ...BRANCH, name: "old" });
    await ps.deleteRole({ ...BRANCH, id: role.id, successor: "new-owner" });
    expect(server.deleted).toEqual([{ id: role.id, successor: "new-owner" }]);
    expect(server.roles).toEqual([]);
  });

  it("counts a 404 on a repeated delete, after a lost answer, as done", async () => {
    const role = await ps.createRole({ ...BRANCH, name: "gone" });
    // The first delete is carried out but its answer is lost; the repeat finds nothing.
    server.next((_request, _res, socket) => {
      server.roles.splice(0, 1);
      socket.destroy();
    });
    const retrying = createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: { baseMs: 5 } });
    await expect(retrying.deleteRole({ ...BRANCH, id: role.id })).resolves.toBeUndefined();
    expect(server.requests.filter((r) => r.method === "DELETE")).toHaveLength(2);
  });

  it("still reports a 404 on a first delete", async () => {
    await expect(ps.deleteRole({ ...BRANCH, id: "missing" })).rejects.toThrow(/404/);
  });

  it("resetRole keeps a garbled answer's body, as create does", async () => {
    const role = await ps.createRole({ ...BRANCH, name: "r" });
    server.next(json(200, { username: "u" }));
    const error = await ps.resetRole({ ...BRANCH, id: role.id }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect((error as UnexpectedResponseError).body).toBe('{"username":"u"}');
  });

  describe("createTemporaryRole", () => {
    it("hands over the credentials and deletes the role after the callback", async () => {
      const seen = await ps.createTemporaryRole({ ...BRANCH, name: "tmp", ttl: 600 }, (role: Role) => {
        expect(server.roles.map((r) => r.id)).toEqual([role.id]);
        return role.password;
      });
      expect(seen).toMatch(/^pw-/);
      expect(server.roles).toEqual([]);
      expect(server.deleted).toHaveLength(1);
    });

    it("deletes the role when the callback throws, and rethrows the callback's error", async () => {
      const failure = new Error("migration failed");
      await expect(
        ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, async () => {
          throw failure;
        }),
      ).rejects.toBe(failure);
      expect(server.roles).toEqual([]);
    });

    it("says which role is left behind when the delete fails", async () => {
      server.failNextDelete();
      const error = await ps.createTemporaryRole({ ...BRANCH, name: "stuck" }, () => "ok").catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlanetScaleError);
      const id = server.roles[0]?.id;
      // A 500 may come after the server acted: the delete's outcome is unknown, and the message says so.
      expect((error as Error).message).toContain(`role stuck (id ${id}) on acme/app-db/main may have been left behind`);
      expect((error as Error).message).toContain("could not drop role");
    });
  });

  describe("recovery of an ambiguous create (recoverAmbiguous)", () => {
    const ATTEMPT_NAME = /^ci-reader-[0-9a-z]{8}$/;
    /** Another CI job with the same role name, on its own client: its role is live and must survive. */
    async function othersRole(): Promise<Role> {
      const other = createClient({ serviceToken: "id:secret", baseUrl: server.url });
      return other.createRole({ ...BRANCH, name: "ci-reader" });
    }
    const ids = () => server.roles.map((role) => role.id);

    it("deletes the role whose answer was lost and creates one more: exactly one role of its own, with its password", async () => {
      server.loseNextCreateAnswer();
      const role = await ps.createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true });
      expect(role.name).toMatch(ATTEMPT_NAME);
      expect(server.roles).toHaveLength(1);
      expect(server.roles[0]?.id).toBe(role.id);
      expect(role.password).toBe(server.roles[0]?.password);
      expect(server.deleted).toHaveLength(1);
      expect(server.deleted[0]?.id).not.toBe(role.id);
      expect(server.requests.map((r) => `${r.method} ${r.url.split("?")[0]?.split("/").slice(-1)[0]}`)).toEqual([
        "POST roles",
        "GET roles",
        `DELETE ${server.deleted[0]?.id}`,
        "POST roles",
      ]);
      // Each attempt has a name of its own: the lost one's and the new one's differ.
      const names = server.requests.filter((r) => r.method === "POST").map((r) => JSON.parse(r.body).name);
      expect(new Set(names).size).toBe(2);
    });

    it("recovers from a 2xx answer that cannot be read, too", async () => {
      server.garbleNextCreateAnswer();
      const role = await ps.createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true });
      expect(server.roles.map((r) => r.id)).toEqual([role.id]);
      expect(server.deleted).toHaveLength(1);
    });

    it("leaves alone a same-name role that another client made 1–2 s earlier, when the lost create landed", async () => {
      const theirs = await othersRole();
      await serverClock.advance(1_200);
      server.loseNextCreateAnswer();
      const mine = await ps.createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true });
      expect(ids()).toEqual([theirs.id, mine.id]);
      expect(server.deleted.map((d) => d.id)).not.toContain(theirs.id);
      expect(server.deleted).toHaveLength(1);
    });

    it("leaves alone a same-name role that another client made 1–2 s earlier, when the lost create did not land", async () => {
      const theirs = await othersRole();
      await serverClock.advance(1_200);
      server.dropNextCreate();
      const mine = await ps.createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true });
      expect(ids()).toEqual([theirs.id, mine.id]);
      expect(server.deleted).toEqual([]);
    });

    it("leaves alone a same-name role that another client made during the attempt", async () => {
      let theirs: Role | undefined;
      server.beforeNextCreate(() => {
        const made = roleFixture({ id: "theirs", name: "ci-reader", created_at: new Date().toISOString() });
        server.roles.push(made);
        theirs = made;
      });
      server.loseNextCreateAnswer();
      const mine = await ps.createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true });
      expect(theirs).toBeDefined();
      expect(ids()).toEqual(["theirs", mine.id]);
      expect(server.deleted.map((d) => d.id)).not.toContain("theirs");
    });

    it("deletes nothing and does not create again when it cannot list the roles, and says what to look for", async () => {
      const theirs = await othersRole();
      server.loseNextCreateAnswer();
      server.failNextList();
      const error = await ps
        .createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true })
        .catch((e: unknown) => e as PlanetScaleError);
      expect(error).toBeInstanceOf(ConnectionError);
      expect(server.deleted).toEqual([]);
      expect(server.requests.filter((r) => r.method === "POST")).toHaveLength(2);
      const lost = server.roles.find((role) => role.id !== theirs.id);
      expect(lost?.name).toMatch(ATTEMPT_NAME);
      expect((error as Error).message).toContain(`q: "${lost?.name}"`);
      expect((error as Error).message).toContain("deleted nothing");
    });

    it("without the option, the error says the outcome is unknown and the orphan stays", async () => {
      server.loseNextCreateAnswer();
      const error = await ps.createRole({ ...BRANCH, name: "ci-reader" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).outcomeUnknown).toBe(true);
      expect(server.roles).toHaveLength(1);
    });

    it("names the role left behind when it cannot be deleted", async () => {
      server.loseNextCreateAnswer();
      server.failNextDelete();
      const error = await ps
        .createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PlanetScaleError);
      expect((error as Error).message).toContain(
        `role ${server.roles[0]?.name} (id ${server.roles[0]?.id}) on acme/app-db/main`,
      );
      expect(server.roles[0]?.name).toMatch(ATTEMPT_NAME);
      expect((error as Error).message).toContain("left behind");
      expect(server.requests.filter((r) => r.method === "POST")).toHaveLength(1);
    });

    it("needs a name to find the role", async () => {
      await expect(ps.createRole(BRANCH, { recoverAmbiguous: true })).rejects.toBeInstanceOf(InvalidRequestError);
      expect(server.requests).toHaveLength(0);
    });

    it("does nothing extra when the create simply fails", async () => {
      server.next(json(403, { code: "forbidden", message: "no" }));
      await expect(ps.createRole({ ...BRANCH, name: "x" }, { recoverAmbiguous: true })).rejects.toThrow(/403/);
      expect(server.requests).toHaveLength(1);
    });
  });
});

describe("listAllRoles, whatever happens to the pages", () => {
  const everything = async <T>(items: AsyncIterable<T>) => {
    const all: T[] = [];
    for await (const item of items) all.push(item);
    return all;
  };

  function onFake() {
    const fake = createFakePlanetScale();
    const ps = createClient({ serviceToken: fake.serviceToken, baseUrl: fake.baseUrl, fetch: fake.fetch });
    return { fake, ps };
  }

  /** A client whose list answers come from `pageFor(page)`; counts the requests. */
  function pagedBy(pageFor: (page: number) => unknown) {
    let requests = 0;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      requests++;
      const page = Number(new URL(new Request(input, init).url).searchParams.get("page"));
      return new Response(JSON.stringify(pageFor(page)), { headers: { "content-type": "application/json" } });
    };
    const ps = createClient({ serviceToken: "id:secret", baseUrl: "https://api.test/v1", fetch, maxRetries: 0 });
    return { ps, requests: () => requests };
  }

  describe("changing roles inside the loop", () => {
    it("deleting each role as it comes deletes all 30, across pages of 25", async () => {
      const { fake, ps } = onFake();
      for (let n = 0; n < 30; n++) await ps.createRole({ ...BRANCH, name: `old-${n}`, ttl: 60 });
      const seen: string[] = [];
      for await (const role of ps.listAllRoles(BRANCH)) {
        seen.push(role.name);
        await ps.deleteRole({ ...BRANCH, id: role.id });
      }
      expect(new Set(seen).size).toBe(30);
      expect(seen).toHaveLength(30);
      expect(fake.roles(BRANCH)).toEqual([]);
    });

    it("creating roles inside the loop neither repeats a role nor hands out the new ones", async () => {
      const { ps } = onFake();
      for (let n = 0; n < 26; n++) await ps.createRole({ ...BRANCH, name: `old-${n}`, ttl: 60 });
      const seen: string[] = [];
      for await (const role of ps.listAllRoles(BRANCH)) {
        seen.push(role.name);
        await ps.createRole({ ...BRANCH, name: `new-${seen.length}`, ttl: 60 });
      }
      expect([...seen].sort()).toEqual(Array.from({ length: 26 }, (_, n) => `old-${n}`).sort());
    });
  });

  describe("a server whose pages never end", () => {
    it("repeating the same role on every next page is refused after the first repeat", async () => {
      const same = roleFixture({ password: "" });
      const { ps, requests } = pagedBy((page) =>
        pageFixture({ current_page: page, next_page: page + 1, data: [same] }),
      );
      const error = await failure(everything(ps.listAllRoles(BRANCH)));
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe("list_roles answered page 2 with no role it had not listed, and a next_page");
      expect(requests()).toBe(2);
    });

    it("empty pages that point to a next one are refused at the first, with the page's status and body kept", async () => {
      const { ps, requests } = pagedBy((page) => pageFixture({ current_page: page, next_page: page + 1, data: [] }));
      const error = await failure(everything(ps.listAllRoles(BRANCH)));
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe("list_roles answered page 1 with no role it had not listed, and a next_page");
      expect(error.status).toBe(200);
      expect(JSON.parse((error as UnexpectedResponseError).body)).toEqual(
        pageFixture({ current_page: 1, next_page: 2, data: [] }),
      );
      expect(requests()).toBe(1);
    });

    it(`with new roles on every page stops at ${MAX_LIST_PAGES} pages`, async () => {
      const { ps, requests } = pagedBy((page) =>
        pageFixture({
          current_page: page,
          next_page: page + 1,
          data: [roleFixture({ id: `r-${page}`, password: "" })],
        }),
      );
      const error = await failure(everything(ps.listAllRoles(BRANCH)));
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe(
        `list_roles answered page ${MAX_LIST_PAGES} with a next_page past ${MAX_LIST_PAGES} pages, where listAllRoles stops`,
      );
      expect(requests()).toBe(MAX_LIST_PAGES);
    });

    it("a page that shares one role with the page before (a role added meanwhile) lists it once", async () => {
      const pages = [
        [roleFixture({ id: "a", password: "" }), roleFixture({ id: "b", password: "" })],
        [roleFixture({ id: "b", password: "" }), roleFixture({ id: "c", password: "" })],
      ];
      const { ps } = pagedBy((page) =>
        pageFixture({ current_page: page, next_page: page < 2 ? page + 1 : null, data: pages[page - 1] }),
      );
      expect((await everything(ps.listAllRoles(BRANCH))).map((role) => role.id)).toEqual(["a", "b", "c"]);
    });
  });
});

describe("createTemporaryRole on the fake", () => {
  describe("a temporary role's ttl", () => {
    it(`is ${TEMPORARY_ROLE_TTL} s when none is given, so a killed process leaves a role that expires`, async () => {
      const { fake, ps } = clientOnFake();
      const ttl = await ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, (role) => role.ttl);
      expect(ttl).toBe(TEMPORARY_ROLE_TTL);
      expect(fake.requests[0]?.body).toMatchObject({ name: "tmp", ttl: TEMPORARY_ROLE_TTL });
    });

    it("is the caller's when given", async () => {
      const { ps } = clientOnFake();
      expect(await ps.createTemporaryRole({ ...BRANCH, name: "tmp", ttl: 90 }, (role) => role.ttl)).toBe(90);
    });

    it(`is ${TEMPORARY_ROLE_TTL} s when the caller passes ttl: undefined (an optional setting left unset)`, async () => {
      const { fake, ps } = clientOnFake();
      const config: { ttl?: number } = {};
      const ttl = await ps.createTemporaryRole({ ...BRANCH, name: "tmp", ttl: config.ttl }, (role) => role.ttl);
      expect(ttl).toBe(TEMPORARY_ROLE_TTL);
      expect(fake.requests[0]?.body).toEqual({ name: "tmp", ttl: TEMPORARY_ROLE_TTL });
    });

    it("of 0 (never expires) is refused before anything is sent", async () => {
      const { fake, ps } = clientOnFake();
      const error = await failure(ps.createTemporaryRole({ ...BRANCH, name: "tmp", ttl: 0 }, () => "never"));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ field: "ttl", operation: "create_role" });
      expect(error.message).toContain("a positive number of seconds for a temporary role");
      expect(fake.requests).toEqual([]);
    });
  });

  describe("its clean-up", () => {
    it("with recoverAmbiguous creates under a name of its own and still deletes the role, handing back the result", async () => {
      const { fake, ps } = clientOnFake();
      const name = await ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, (role) => role.name, {
        recoverAmbiguous: true,
      });
      expect(name).toMatch(/^tmp-[0-9a-z]{8}$/);
      expect(fake.roles(BRANCH)).toEqual([]);
      expect(fake.requests.map((request) => request.operation)).toEqual(["create_role", "delete_role"]);
    });

    it("counts a delete that finds the role already gone (404) as done, and hands back the result", async () => {
      const { fake, ps } = clientOnFake();
      const result = await ps.createTemporaryRole({ ...BRANCH, name: "tmp", ttl: 600 }, async (role) => {
        await ps.deleteRole({ ...BRANCH, id: role.id });
        return 42;
      });
      expect(result).toBe(42);
      expect(fake.roles(BRANCH)).toEqual([]);
    });

    it("says the role may be left behind, with the outcome unknown, when the delete's answer is lost", async () => {
      const { fake, ps } = clientOnFake({ maxRetries: 0 });
      fake.failNext("delete_role", { connectionReset: true });
      const error = await failure(ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, () => "used"));
      expect(error).toBeInstanceOf(PlanetScaleError);
      expect(error.outcomeUnknown).toBe(true);
      expect(error.message).toMatch(/^role tmp \(id [^)]+\) on acme\/app-db\/main may have been left behind: /);
      expect(error.message).toContain("Check with getRole({ organization, database, branch, id:");
    });
  });

  describe("its outcome when the delete afterwards fails", () => {
    function failingDelete() {
      const world = clientOnFake({ maxRetries: 0 });
      world.fake.failNext("delete_role", { status: 503 });
      return world;
    }

    it("keeps what the callback returned on the error, beside the delete's error", async () => {
      const { fake, ps } = failingDelete();
      const migrated = { migrated: 17 };
      const error = await failure(ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, async () => migrated));
      expect(error).toBeInstanceOf(RoleLeftBehindError);
      const left = error as RoleLeftBehindError;
      expect([left.callbackThrew, left.result, left.callbackError]).toEqual([false, migrated, undefined]);
      expect(left.result).toBe(migrated);
      expect(left.cause).toBeInstanceOf(ServerError);
      // A 503 may come after the server acted: the message says the role may be left behind.
      const role = fake.roles(BRANCH)[0];
      expect(error.message).toMatch(
        new RegExp(`^role tmp \\(id ${role?.id}\\) on acme/app-db/main may have been left behind: `),
      );
    });

    it("keeps the callback's own error on the error, beside the delete's error", async () => {
      const { ps } = failingDelete();
      class MigrationError extends Error {}
      const thrown = new MigrationError("step 3 failed");
      const error = await failure(
        ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, async () => {
          throw thrown;
        }),
      );
      const left = error as RoleLeftBehindError;
      expect([left.callbackThrew, left.result]).toEqual([true, undefined]);
      expect(left.callbackError).toBe(thrown);
      expect(left.cause).toBeInstanceOf(ServerError);
      expect(error.message).toContain("(after the callback failed: step 3 failed)");
    });
    it("masks the live role's password where the callback's failure is repeated in the message", async () => {
      const { ps } = failingDelete();
      let password = "";
      const error = await failure(
        ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, async (role) => {
          password = role.password;
          // What a callback that could not connect may well say: the URL it tried, password and all.
          throw new Error(`could not connect to ${connectionString(role)} (password ${role.password})`);
        }),
      );
      expect(password).not.toBe("");
      for (const shown of [error.message, String(error.stack), inspect(error)]) {
        expect(shown).not.toContain(password);
        expect(shown).not.toContain(encodeURIComponent(password));
      }
      expect(error.message).toContain("(after the callback failed: could not connect to postgresql://");
      // The callback's own error is kept whole, for the caller's code.
      expect(((error as RoleLeftBehindError).callbackError as Error).message).toContain(password);
    });
  });

  describe("the caller's signal", () => {
    it("ends the wait for a callback that hangs, and the role is deleted", async () => {
      const { fake, ps } = clientOnFake();
      const controller = new AbortController();
      const error = await failure(
        ps.createTemporaryRole(
          { ...BRANCH, name: "tmp" },
          () => {
            setTimeout(() => controller.abort(), 0);
            return new Promise<never>(() => {});
          },
          { signal: controller.signal },
        ),
      );
      expect(error).toBeInstanceOf(AbortError);
      expect(error.message).toBe("create_role: createTemporaryRole was aborted while its callback ran");
      expect(fake.roles(BRANCH)).toEqual([]);
      expect(fake.requests.map((request) => request.operation)).toEqual(["create_role", "delete_role"]);
    });
  });
});

describe("judged by what reaches the server", () => {
  let rolesServer: RolesServer;
  let ps: PlanetScaleClient;
  const server = serverForTests();

  beforeEach(async () => {
    server.reset();
    rolesServer = await startRolesServer();
    ps = createClient({ serviceToken: "id:secret", baseUrl: rolesServer.url, maxRetries: 0 });
  });

  afterEach(() => rolesServer.close());

  const everything = async (roles: AsyncIterable<unknown>) => {
    const seen: unknown[] = [];
    for await (const role of roles) seen.push(role);
    return seen;
  };

  const page = (body: Record<string, unknown>) => json(200, pageFixture(body));

  describe("listAllRoles", () => {
    it("refuses a page, since it starts at 1 itself, before sending", async () => {
      const listing = ps.listAllRoles({ ...BRANCH, page: 3 } as Parameters<PlanetScaleClient["listAllRoles"]>[0]);
      const error = await failure(everything(listing));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ operation: "list_roles", field: "page" });
      expect(error.message).toBe("list_roles: listAllRoles starts at page 1 and follows next_page; do not pass page");
      expect(rolesServer.requests).toHaveLength(0);
    });

    it("refuses a page without data as an answer of the wrong shape, naming the field", async () => {
      server.next(page({ data: undefined }));
      const client = createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 });
      const error = await failure(everything(client.listAllRoles(BRANCH)));
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe("list_roles answered 200 without data.");
      expect(server.requests).toHaveLength(1);
    });

    it("says which page pointed where when next_page does not move forward", async () => {
      server.next(page({ data: [], next_page: 1 }));
      const client = createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 });
      const error = await failure(everything(client.listAllRoles(BRANCH)));
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe("list_roles answered page 1 with next_page 1");
      expect(error.operation).toBe("list_roles");
      expect(JSON.parse((error as UnexpectedResponseError).body)).toMatchObject({ current_page: 1, next_page: 1 });
    });
  });

  describe("createTemporaryRole", () => {
    it("refuses a callback that is not a function, before creating anything", async () => {
      const error = await failure(ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, "run" as never));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ operation: "create_role", field: "fn" });
      expect(error.message).toBe("create_role: createTemporaryRole needs a function to hand the role to");
      expect(rolesServer.requests).toHaveLength(0);
    });

    it("deletes with the caller's maxRetries, and says exactly which role is left and how to delete it", async () => {
      rolesServer.failNextDelete();
      const retrying = createClient({ serviceToken: "id:secret", baseUrl: rolesServer.url, backoff: { baseMs: 5 } });
      let made: Role | undefined;
      const error = await failure(
        retrying.createTemporaryRole(
          { ...BRANCH, name: "tmp" },
          (role) => {
            made = role;
          },
          { maxRetries: 0 },
        ),
      );
      expect(rolesServer.requests.filter((r) => r.method === "DELETE")).toHaveLength(1);
      const id = made?.id;
      expect(error.message).toBe(
        `role tmp (id ${id}) on acme/app-db/main may have been left behind: the delete's outcome is unknown ` +
          `(delete_role failed: 500 internal: could not drop role). ` +
          `Check with getRole({ organization, database, branch, id: "${id}" }) and delete it if it is still there.`,
      );
      expect(error.operation).toBe("delete_role");
      expect(error.cause).toBeInstanceOf(ServerError);
    });

    it("names what the callback threw, even a bare string, when the delete fails too", async () => {
      rolesServer.failNextDelete();
      const error = await failure(
        ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, () => {
          throw "migration 42 failed";
        }),
      );
      expect(error.message).toContain(
        "could not drop role) (after the callback failed: migration 42 failed). Check with getRole",
      );
      rolesServer.failNextDelete();
      const silent = await failure(ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, () => Promise.reject(undefined)));
      expect(silent.message).toContain("(after the callback failed: undefined). Check with getRole");
    });
  });

  describe("recoverAmbiguous", () => {
    it("must be true or false, checked before sending", async () => {
      const error = await failure(ps.createRole({ ...BRANCH, name: "ci" }, { recoverAmbiguous: "yes" as never }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ operation: "create_role", field: "recoverAmbiguous" });
      expect(error.message).toBe("create_role: recoverAmbiguous must be true or false. Nothing was sent.");
      expect(rolesServer.requests).toHaveLength(0);
    });

    it("needs a name that is not blank, and refuses missing params the same way, before sending", async () => {
      const blank = await failure(ps.createRole({ ...BRANCH, name: "   " }, { recoverAmbiguous: true }));
      expect(blank).toBeInstanceOf(InvalidRequestError);
      expect(blank).toMatchObject({ operation: "create_role", field: "name" });
      expect(blank.message).toBe(
        "create_role: recoverAmbiguous needs a name, to find the role a lost answer created. Nothing was sent.",
      );
      const missing = await failure(ps.createRole(undefined as never, { recoverAmbiguous: true }));
      expect(missing).toBeInstanceOf(InvalidRequestError);
      expect(missing).toMatchObject({ field: "name" });
      expect(rolesServer.requests).toHaveLength(0);
    });

    it("does not recover from a 300 answer: a redirect is not a lost answer", async () => {
      server.next((_req, res) => res.writeHead(300, { location: "https://elsewhere.example" }).end());
      const client = createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 });
      const error = await failure(client.createRole({ ...BRANCH, name: "ci" }, { recoverAmbiguous: true }));
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(server.requests.map((request) => request.method)).toEqual(["POST"]);
    });

    it("does not look for a role when the create was never sent", async () => {
      const client = createClient({
        serviceToken: "id:secret",
        baseUrl: `http://127.0.0.1:${await closedPort()}`,
        maxRetries: 0,
      });
      const error = await failure(client.createRole({ ...BRANCH, name: "ci" }, { recoverAmbiguous: true }));
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).requestSent).toBe(false);
      expect(error.message).not.toContain("Recovery");
    });

    it("deletes only the role of its own attempt's exact name, even when the list answers more", async () => {
      const created: Role[] = [];
      const deleted: string[] = [];
      server.next(
        (request, _res, socket) => {
          created.push(roleFixture({ id: "lost", name: JSON.parse(request.body).name }));
          socket.destroy();
        },
        // A list that ignores q: the lost role, one whose name merely starts with it, and another caller's.
        (request, res, socket) => {
          const lost = created[0] as Role;
          const data = [lost, roleFixture({ id: "longer", name: `${lost.name}-2` }), roleFixture({ id: "theirs" })];
          json(200, pageFixture({ data }))(request, res, socket);
        },
        (request, res) => {
          deleted.push(request.url.split("?")[0]?.split("/").pop() ?? "");
          res.writeHead(204).end();
        },
        json(200, roleFixture({ id: "second" })),
      );
      const client = createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 });
      const role = await client.createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true });
      expect(role.id).toBe("second");
      expect(deleted).toEqual(["lost"]);
    });

    it("says how to look for the lost role when the list fails", async () => {
      rolesServer.loseNextCreateAnswer();
      rolesServer.failNextList();
      const error = await failure(ps.createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true }));
      const lost = rolesServer.roles[0]?.name;
      expect(error.message).toContain(
        `. Recovery could not check whether role ${lost} was created (list_roles failed: 503 unavailable: try later), ` +
          `so it deleted nothing and did not create again. Look for it with listRoles({ organization, database, branch, ` +
          `q: "${lost}" }) and delete it if it is there: its password was never seen`,
      );
    });

    it("reports a role it found but could not delete as create_role's failure, with a known outcome", async () => {
      rolesServer.loseNextCreateAnswer();
      rolesServer.failNextDelete();
      const error = await failure(ps.createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true }));
      expect(error).toMatchObject({ operation: "create_role", outcomeUnknown: false });
      expect(error.cause).toBeInstanceOf(ServerError);
    });
  });
});

describe("a fired signal", () => {
  const FAST = { baseMs: 5, maxMs: 20 };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() =>
    createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 2 }),
  );

  describe("a temporary role whose caller's signal has fired", () => {
    it("is still deleted after the callback", async () => {
      const controller = new AbortController();
      server.next(json(200, roleFixture({ id: "temp-1" })), json(204, ""));
      const result = await ps.createTemporaryRole(
        { ...BRANCH, name: "temp" },
        () => {
          controller.abort();
          return "used";
        },
        { signal: controller.signal },
      );
      expect(result).toBe("used");
      expect(server.requests.map((request) => `${request.method} ${request.url.split("/").at(-1)}`)).toEqual([
        "POST roles",
        "DELETE temp-1",
      ]);
    });
  });
});
