// One call from the caller's side: what is logged, how an unusable 2xx is reported, and what an
// error with an open outcome tells the caller to do next.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  AbortError,
  createClient,
  type RequestLogEvent,
  ServerError,
  TimeoutError,
  UnexpectedResponseError,
} from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { json, startServer, type TestServer, truncated } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
const BAD_GATEWAY = json(502, { code: "bad_gateway", message: "upstream failed" });
let server: TestServer;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => server.reset());

const client = (options: Parameters<typeof createClient>[0] = {}) =>
  createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0, ...options });
describe("the log", () => {
  it("gives the path with its query, and a duration no longer than the call took", async () => {
    server.next(json(200, pageFixture({ current_page: 2 })));
    const events: RequestLogEvent[] = [];
    const started = performance.now();
    await client({ logger: (event) => events.push(event) }).listRoles({ ...BRANCH, page: 2, per_page: 5, q: "ci" });
    const took = performance.now() - started;
    expect(events).toHaveLength(1);
    expect(events[0]?.path).toBe("/organizations/acme/databases/app-db/branches/main/roles?page=2&per_page=5&q=ci");
    expect(events[0]?.durationMs).toBeGreaterThanOrEqual(0);
    expect(events[0]?.durationMs).toBeLessThanOrEqual(Math.ceil(took));
  });

  it("records an answer whose body stalled past the deadline as a TimeoutError after status 200", async () => {
    server.next((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.write('{"id":');
    });
    const events: RequestLogEvent[] = [];
    const error = await failure(client({ logger: (event) => events.push(event) }).getRole(ROLE, { timeoutMs: 300 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(events).toEqual([expect.objectContaining({ operation: "get_role", status: 200, error: "TimeoutError" })]);
  });
});

describe("a 2xx the client cannot use", () => {
  it("says a read answer is not JSON, with no word about a password", async () => {
    server.next(json(200, "<html>maintenance</html>"));
    const error = await failure(client().getRole(ROLE));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toBe("get_role answered 200 with a body that is not JSON.");
  });

  it("refuses JSON null and a bare number as not an object", async () => {
    server.next(json(200, "null"), json(200, "42"));
    const nullAnswer = await failure(client().getRole(ROLE));
    expect(nullAnswer).toBeInstanceOf(UnexpectedResponseError);
    expect(nullAnswer.message).toBe("get_role answered 200 with JSON that is null, not an object.");
    const numberAnswer = await failure(client().getRole(ROLE));
    expect(numberAnswer.message).toBe("get_role answered 200 with JSON that is an integer, not an object.");
  });

  it("refuses a create answer with an empty password, and names both fields when both are missing", async () => {
    server.next(json(200, roleFixture({ password: "" })));
    const emptyPassword = await failure(client().createRole({ ...BRANCH, name: "ci" }));
    expect(emptyPassword.message).toMatch(/^create_role answered 200 without password\./);
    const { username: _username, password: _password, ...neither } = roleFixture();
    server.next(json(200, neither));
    const noCredentials = await failure(client().createRole({ ...BRANCH, name: "ci" }));
    expect(noCredentials.message).toMatch(/^create_role answered 200 without username and password\./);
  });

  it("reports a read answer that broke off as broken off, not as a lost connection", async () => {
    server.next(truncated('{"id":"role-1","name":'));
    const error = await failure(client().getRole(ROLE));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toMatch(/^get_role answered 200 but the answer broke off after 22 characters/);
  });

  it("ends a 304, which has no body, as an unexpected answer", async () => {
    server.next((_req, res) => res.writeHead(304).end());
    const error = await failure(client().getRole(ROLE));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.status).toBe(304);
  });
});

describe("an outcome left open", () => {
  it("tells how to get a working password after a reset_role whose outcome is unknown", async () => {
    server.next(BAD_GATEWAY);
    const error = await failure(client().resetRole(ROLE));
    expect(error.message).toBe(
      "reset_role failed: 502 bad_gateway: upstream failed. The outcome is unknown: the password on acme/app-db/main " +
        "may have been reset although no usable answer came back, so the old password may already be invalid. " +
        "Call resetRole({ organization, database, branch, id }) again to get a working one.",
    );
  });

  it("tells resetDefaultRole's caller to call it again without an id", async () => {
    server.next(BAD_GATEWAY);
    const error = await failure(client().resetDefaultRole(BRANCH));
    expect(error.message).toMatch(
      /Call resetDefaultRole\(\{ organization, database, branch \}\) again to get a working one\.$/,
    );
  });

  it("does not talk of created roles after a read whose outcome is unknown", async () => {
    server.next(BAD_GATEWAY);
    const error = await failure(client().getRole(ROLE));
    expect(error).toBeInstanceOf(ServerError);
    expect(error.message).toBe("get_role failed: 502 bad_gateway: upstream failed");
  });

  it("tells how to look for a role created without a name, and by name when it had one", async () => {
    server.next(BAD_GATEWAY, BAD_GATEWAY);
    const unnamed = await failure(client().createRole(BRANCH));
    expect(unnamed.message).toMatch(
      /so it was not sent again\. Check with listRoles\(\{ organization, database, branch \}\) and delete any role you cannot use\.$/,
    );
    const named = await failure(client().createRole({ ...BRANCH, name: "ci-reader" }));
    expect(named.message).toContain('Check with listRoles({ organization, database, branch, q: "ci-reader" })');
  });

  it("says a call whose signal had already fired was never sent", async () => {
    const reason = new Error("shutting down");
    const error = await failure(client().createRole({ ...BRANCH, name: "ci" }, { signal: AbortSignal.abort(reason) }));
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toBe("create_role was aborted before it was sent");
    expect(error).toMatchObject({ operation: "create_role", outcomeUnknown: false, cause: reason });
    expect(server.requests).toHaveLength(0);
  });
});
