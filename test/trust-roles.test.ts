// The Roles helpers beyond one request: every page of a list, a role that deletes itself, and the
// recovery of a create whose answer was lost, each judged by what reaches the server.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  ConnectionError,
  createClient,
  InvalidRequestError,
  type PlanetScaleClient,
  type Role,
  ServerError,
  UnexpectedResponseError,
} from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { type RolesServer, startRolesServer } from "./support/roles-server.ts";
import { closedPort, json, startServer, type TestServer } from "./support/servers.ts";

let rolesServer: RolesServer;
let server: TestServer;
let ps: PlanetScaleClient;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
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
    expect((error as UnexpectedResponseError).body).toBe('{"current_page":1,"next_page":1}');
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
      `role tmp (id ${id}) on acme/app-db/main was left behind: deleting it failed: ` +
        `delete_role failed: 500 internal: could not drop role. ` +
        `Delete it with deleteRole({ organization, database, branch, id: "${id}" }).`,
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
    expect(error.message).toContain("could not drop role (after the callback failed: migration 42 failed). Delete it");
    rolesServer.failNextDelete();
    const silent = await failure(ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, () => Promise.reject(undefined)));
    expect(silent.message).toContain("(after the callback failed: undefined). Delete it");
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
