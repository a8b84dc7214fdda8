// What this file proves: what a caller reads from an error. Its class and name as printed, the
// message built from the answer (status, code, the API's message, request id), its stack, and what
// an error whose outcome is open tells the caller to do next.

import { createServer as createNetServer } from "node:net";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { describeRole, leftBehind } from "../src/errors.ts";
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
import { asleep, manualClock, waitFor } from "./support/clock.ts";
import { failure } from "./support/failure.ts";
import { BRANCH } from "./support/fixtures.ts";
import { clientForTests, serverForTests } from "./support/per-test.ts";
import { hang, json } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
const server = serverForTests({ reset: true });
const client = (options: Parameters<typeof createClient>[0] = {}) =>
  createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0, ...options });

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
    const clock = manualClock();
    const timing = failure(client({ clock }).getRole(ROLE, { timeoutMs: 100 }));
    await waitFor(() => server.requests.length === 1, "the first call at the server");
    await clock.advance(100);
    const timedOut = await timing;
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(timedOut.name).toBe("TimeoutError");
    // The caller's own deadline, with the reason AbortSignal.timeout gives, is still the caller's abort.
    const controller = new AbortController();
    const aborting = failure(client({ clock }).getRole(ROLE, { signal: controller.signal }));
    await waitFor(() => server.requests.length === 2, "the second call at the server");
    controller.abort(new DOMException("The operation timed out.", "TimeoutError"));
    const aborted = await aborting;
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

describe("stacks and open outcomes", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const FAST = { baseMs: 5, maxMs: 20 };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() =>
    createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 2 }),
  );

  describe("an extended message", () => {
    it("appears once in the stack, whose first line is name: message", async () => {
      server.next(json(502, { code: "bad_gateway", message: "upstream failed" }));
      const error = await failure(ps.createRole({ ...BRANCH, name: "ci-reader" }));
      expect(error).toBeInstanceOf(ServerError);
      const stack = error?.stack ?? "";
      expect(stack.split("\n    at ")[0]).toBe(`ServerError: ${error?.message}`);
      expect(stack.split("The outcome is unknown")).toHaveLength(2);
      expect(stack).toMatch(/\n {4}at /);
    });
  });

  describe("an extended message with no stack frames", () => {
    it("still reaches the stack (Error.stackTraceLimit = 0, as some services set)", async () => {
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        server.next(json(502, { code: "bad_gateway", message: "upstream failed" }));
        const error = await failure(ps.createRole({ ...BRANCH, name: "ci-reader" }));
        expect(error?.stack).toBe(`ServerError: ${error?.message}`);
        expect(error?.stack).toContain("The outcome is unknown");
      } finally {
        Error.stackTraceLimit = limit;
      }
    });
  });

  describe("resets whose outcome is unknown", () => {
    it.each([
      ["resetRole", () => ps.resetRole(ROLE)],
      ["resetDefaultRole", () => ps.resetDefaultRole(BRANCH)],
    ])("%s says the old password may already be invalid, and how to get a working one", async (method, call) => {
      const bad = json(502, { code: "bad_gateway", message: "upstream failed" });
      server.next(bad, bad, bad);
      const error = await failure(call());
      expect(error).toBeInstanceOf(ServerError);
      expect(server.requests).toHaveLength(3);
      expect(error?.message).toMatch(/old password may already be invalid/);
      expect(error?.message).toContain(`${method}(`);
    });
  });
});

describe("what to do next", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const BAD_GATEWAY = json(502, { code: "bad_gateway", message: "upstream failed" });
  const server = serverForTests({ reset: true });

  const client = (options: Parameters<typeof createClient>[0] = {}) =>
    createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0, ...options });

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

    it("still warns of the old password when a reset left open is followed by a refusal", async () => {
      // The first answer may have come after the reset took effect; the second says only that this
      // attempt was refused.
      server.next(BAD_GATEWAY, json(409, { code: "conflict", message: "branch is busy" }));
      const error = await failure(client({ maxRetries: 1, backoff: { baseMs: 1, maxMs: 1 } }).resetRole(ROLE));
      expect(server.requests).toHaveLength(2);
      expect(error.message).toMatch(/^reset_role failed: 409 conflict: branch is busy\. The outcome is unknown/);
      expect(error.message).toContain("the old password may already be invalid");
      expect(error.outcomeUnknown).toBe(true);
    });

    it("warns of the old password when a reset left open is aborted while it waits to send again", async () => {
      server.next(BAD_GATEWAY);
      const clock = manualClock();
      const controller = new AbortController();
      const call = failure(
        client({ maxRetries: 1, backoff: { baseMs: 4_000, maxMs: 4_000 }, clock }).resetRole(ROLE, {
          signal: controller.signal,
        }),
      );
      await asleep(clock);
      controller.abort(new Error("shutting down"));
      const error = await call;
      expect(error).toBeInstanceOf(AbortError);
      expect(error.message).toMatch(/^reset_role was aborted while waiting to retry after: reset_role failed: 502/);
      expect(error.message).toContain("the old password may already be invalid");
      expect(error.message).toContain("Call resetRole({ organization, database, branch, id }) again");
      expect(error.outcomeUnknown).toBe(true);
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
      const error = await failure(
        client().createRole({ ...BRANCH, name: "ci" }, { signal: AbortSignal.abort(reason) }),
      );
      expect(error).toBeInstanceOf(AbortError);
      expect(error.message).toBe("create_role was aborted before it was sent");
      expect(error).toMatchObject({ operation: "create_role", outcomeUnknown: false, cause: reason });
      expect(server.requests).toHaveLength(0);
    });
  });
});

describe("a temporary role whose delete failed", () => {
  const where = { organization: "o", database: "d", branch: "b" };

  it("says which role was left behind and how to delete it, keeping every dot of the reason but its last", () => {
    const cause = new Error("could not reach api.test.");
    const error = leftBehind(where, { id: "r1", name: "tmp" }, cause);
    expect(error.message).toBe(
      'role tmp (id r1) on o/d/b was left behind: deleting it failed: could not reach api.test. Delete it with deleteRole({ organization, database, branch, id: "r1" }).',
    );
    expect([error.operation, error.outcomeUnknown, error.cause]).toEqual(["delete_role", false, cause]);
  });

  it("says the role may be left behind only when the delete was a PlanetScaleError whose outcome is unknown", () => {
    const unknown = new PlanetScaleError("timed out", { outcomeUnknown: true });
    expect(leftBehind(where, { id: "r1" }, unknown).message).toMatch(
      /^role \(id r1\) on o\/d\/b may have been left behind/,
    );
    expect(leftBehind(where, { id: "r1" }, unknown).outcomeUnknown).toBe(true);
    const lookalike = Object.assign(new Error("boom"), { outcomeUnknown: true });
    expect(leftBehind(where, { id: "r1" }, lookalike).message).toMatch(/was left behind: deleting it failed: boom/);
    expect(leftBehind(where, { id: "r1" }, undefined).message).toMatch(/deleting it failed: undefined/);
  });

  it("names a role by its name and id only when the server gave them as text", () => {
    expect(describeRole(where, { id: 7, name: "" })).toBe("role on o/d/b");
    expect(describeRole(where, { id: "r1", name: 7 })).toBe("role (id r1) on o/d/b");
  });
});
