// The whole Roles resource: every operation against Prism, and pagination, deletion with a
// successor, temporary roles and ambiguous-create recovery against a stateful local server.
import { inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, expectTypeOf, inject, it } from "vitest";
import {
  ConnectionError,
  createClient,
  InvalidRequestError,
  type ListedRole,
  type PlanetScaleClient,
  PlanetScaleError,
  type Role,
  UnexpectedResponseError,
} from "../src/index.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { type RolesServer, startRolesServer } from "./support/roles-server.ts";
import { json } from "./support/servers.ts";

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
  let server: RolesServer;
  let ps: PlanetScaleClient;
  beforeAll(async () => {
    server = await startRolesServer();
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
      expect((error as Error).message).toContain(`role stuck (id ${id}) on acme/app-db/main was left behind`);
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
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      server.loseNextCreateAnswer();
      const mine = await ps.createRole({ ...BRANCH, name: "ci-reader" }, { recoverAmbiguous: true });
      expect(ids()).toEqual([theirs.id, mine.id]);
      expect(server.deleted.map((d) => d.id)).not.toContain(theirs.id);
      expect(server.deleted).toHaveLength(1);
    });

    it("leaves alone a same-name role that another client made 1–2 s earlier, when the lost create did not land", async () => {
      const theirs = await othersRole();
      await new Promise((resolve) => setTimeout(resolve, 1_200));
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
