// What a caller reads from an error: its class and name, the message built from the answer, and
// the fields they can act on.
import { createServer as createNetServer } from "node:net";
import { inspect } from "node:util";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  AbortError,
  AuthenticationError,
  createClient,
  NotFoundError,
  PermissionDeniedError,
  PlanetScaleError,
  ServerError,
  TimeoutError,
  UnexpectedResponseError,
} from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { hang, json, startServer, type TestServer } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
let server: TestServer;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const client = () => createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 });
describe("each error's name, as printed", () => {
  it("names the class in error.name and in the first line of String(error)", async () => {
    server.next(json(404, { code: "not_found", message: "no such role" }));
    const notFound = await failure(client().getRole(ROLE));
    expect(notFound).toBeInstanceOf(NotFoundError);
    expect(String(notFound)).toBe("NotFoundError: get_role failed: 404 not_found: no such role");

    server.next(json(401, { code: "unauthorized", message: "bad token" }));
    const unauthorized = await failure(client().getRole(ROLE));
    expect(unauthorized).toBeInstanceOf(AuthenticationError);
    expect(unauthorized.name).toBe("AuthenticationError");

    server.next(json(403, { code: "forbidden", message: "no access" }));
    const forbidden = await failure(client().getRole(ROLE));
    expect(forbidden).toBeInstanceOf(PermissionDeniedError);
    expect(forbidden.name).toBe("PermissionDeniedError");

    server.next(json(409, { code: "conflict", message: "name taken" }));
    const conflict = await failure(client().createRole({ ...BRANCH, name: "ci" }));
    expect(conflict.constructor).toBe(PlanetScaleError);
    expect(conflict.name).toBe("PlanetScaleError");

    server.next(json(200, "<html>"));
    const garbled = await failure(client().getRole(ROLE));
    expect(garbled).toBeInstanceOf(UnexpectedResponseError);
    expect(garbled.name).toBe("UnexpectedResponseError");
  });

  it("names a timeout TimeoutError and an abort AbortError", async () => {
    server.next(hang, hang);
    const timedOut = await failure(client().getRole(ROLE, { timeoutMs: 100 }));
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(timedOut.name).toBe("TimeoutError");
    const aborted = await failure(client().getRole(ROLE, { signal: AbortSignal.timeout(100) }));
    expect(aborted).toBeInstanceOf(AbortError);
    expect(aborted.name).toBe("AbortError");
  });

  it("carries no cause when nothing caused it but the answer", async () => {
    server.next(json(404, { code: "not_found", message: "no such role" }));
    const error = await failure(client().getRole(ROLE));
    expect(inspect(error)).not.toContain("[cause]");
  });
});

describe("messages built from the answer", () => {
  it("gives status, code, the API's message and the request id, in that order", async () => {
    server.next(json(409, { code: "conflict", message: "name taken" }, { "x-request-id": "req-7" }));
    const error = await failure(client().createRole({ ...BRANCH, name: "ci" }));
    expect(error.message).toBe("create_role failed: 409 conflict: name taken (request id req-7)");
  });

  it("leaves out the code and the request id when the answer has neither", async () => {
    server.next(json(404, ""));
    const error = await failure(client().getRole(ROLE));
    expect(error.message).toBe(
      "get_role failed: 404: not found (the organization, database, branch or role does not exist, or the credentials cannot see it)",
    );
  });

  it("uses the status text when the body says nothing", async () => {
    server.next((_req, res) => res.writeHead(502, "Bad Gateway", { "content-type": "text/html" }).end("<html>"));
    const error = await failure(client().getRole(ROLE));
    expect(error).toBeInstanceOf(ServerError);
    expect(error.message).toBe("get_role failed: 502: Bad Gateway");
  });

  it("says no explanation was given when the status line has no reason either", async () => {
    const bare = createNetServer((socket) => {
      socket.once("data", () => socket.end("HTTP/1.1 503 \r\ncontent-length: 0\r\nconnection: close\r\n\r\n"));
    });
    await new Promise<void>((resolve) => bare.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = bare.address() as { port: number };
      const ps = createClient({ serviceToken: "id:secret", baseUrl: `http://127.0.0.1:${port}`, maxRetries: 0 });
      const error = await failure(ps.getRole(ROLE));
      expect(error.message).toBe("get_role failed: 503: no explanation was given");
    } finally {
      await new Promise<void>((resolve) => bare.close(() => resolve()));
    }
  });

  it("keeps the API's message when its code is not a string", async () => {
    server.next(json(422, { code: 42, message: "quota exceeded" }));
    const error = await failure(client().createRole({ ...BRANCH, name: "ci" }));
    expect(error.apiMessage).toBe("quota exceeded");
    expect(error.code).toBeUndefined();
    expect(error.message).toBe("create_role failed: 422: quota exceeded");
  });

  it("lists in a 403 every access and scope that create_role accepts, as the spec gives them", async () => {
    server.next(json(403, { code: "forbidden", message: "denied" }));
    const error = await failure(client().createRole({ ...BRANCH, name: "ci" }));
    // Written out from the spec's x-planetscale-token-accesses and OAuth scopes for create_role.
    expect(error.message).toBe(
      "create_role failed: 403 forbidden: denied. create_role needs a service token with one of these accesses: " +
        "create_production_branch_password, create_production_read_only_branch_password, create_branch_password; " +
        "or an OAuth token with one of these scopes (" +
        "organization: manage_passwords, manage_production_branch_passwords, manage_read_only_passwords, manage_production_read_only_passwords; " +
        "database: manage_passwords, manage_production_branch_passwords, manage_read_only_passwords, manage_production_read_only_passwords; " +
        "branch: manage_passwords, manage_read_only_passwords)",
    );
  });

  it("lets a caller build a PermissionDeniedError of their own, without an operation", () => {
    const error = new PermissionDeniedError("denied by policy");
    expect(error.message).toBe("denied by policy");
    expect(error.serviceTokenAccesses).toEqual([]);
    expect(error.oauthScopes).toEqual({});
  });
});

describe("3xx answers", () => {
  it("treats 300 as a redirect it does not follow, and keeps status, operation and body", async () => {
    server.next((_req, res) => res.writeHead(300, { location: "https://elsewhere.example/roles" }).end("choose"));
    const error = await failure(client().getRole(ROLE));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toMatch(/^get_role was redirected \(300\) to https:\/\/elsewhere\.example\/roles;/);
    expect(error).toMatchObject({ status: 300, operation: "get_role" });
    expect((error as UnexpectedResponseError).body).toBe("choose");
  });

  it("says 'nowhere' for a redirect without a Location, and keeps an empty body as empty", async () => {
    server.next((_req, res) => res.writeHead(302, { "content-length": "0" }).end());
    const error = await failure(client().getRole(ROLE));
    expect(error.message).toMatch(/^get_role was redirected \(302\) to nowhere;/);
    expect((error as UnexpectedResponseError).body).toBe("");
  });

  it("keeps a 400 a plain PlanetScaleError, not a redirect", async () => {
    server.next(json(400, { code: "bad_request", message: "ttl too large" }));
    const error = await failure(client().createRole({ ...BRANCH, name: "ci" }));
    expect(error.constructor).toBe(PlanetScaleError);
    expect(error.message).toBe("create_role failed: 400 bad_request: ttl too large");
  });
});
