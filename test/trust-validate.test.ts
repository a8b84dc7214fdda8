// Input the client refuses before sending: each refusal names the field, says what was allowed and
// shows what it got; input it accepts reaches the server.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createClient, InvalidRequestError, type PlanetScaleClient, type PlanetScaleError } from "../src/index.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { json, startServer, type TestServer } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
let server: TestServer;
let ps: PlanetScaleClient;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => {
  server.reset();
  ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 });
});

/** The refusal, after checking that it is one and that nothing reached the server. */
async function refused(call: () => Promise<unknown>): Promise<InvalidRequestError> {
  const error = await call().then(
    () => {
      throw new Error("expected an InvalidRequestError");
    },
    (e: unknown) => e as PlanetScaleError,
  );
  expect(error).toBeInstanceOf(InvalidRequestError);
  expect(server.requests).toHaveLength(0);
  return error as InvalidRequestError;
}

describe("fields", () => {
  it("refuses a blank successor", async () => {
    const error = await refused(() => ps.deleteRole({ ...ROLE, successor: "   " }));
    expect(error.field).toBe("successor");
    expect(error.message).toBe(
      'delete_role: successor must be a non-empty role id or username; got "   ". Nothing was sent.',
    );
  });

  it("refuses per_page 0 and sends per_page 1", async () => {
    const error = await refused(() => ps.listRoles({ ...BRANCH, per_page: 0 }));
    expect(error.message).toBe("list_roles: per_page must be an integer of 1 or more; got 0. Nothing was sent.");
    server.next(json(200, pageFixture()));
    await ps.listRoles({ ...BRANCH, per_page: 1 });
    expect(server.requests[0]?.url).toMatch(/\?per_page=1$/);
  });

  it("shows null as null and an array as an array", async () => {
    const nullName = await refused(() => ps.createRole({ ...BRANCH, name: null as never }));
    expect(nullName.message).toBe("create_role: name must be a string; got null. Nothing was sent.");
    const arrayName = await refused(() => ps.createRole({ ...BRANCH, name: ["ci"] as never }));
    expect(arrayName.message).toBe("create_role: name must be a string; got an array. Nothing was sent.");
  });

  it("shows a number as itself and anything else by its type", async () => {
    const fraction = await refused(() => ps.createRole({ ...BRANCH, ttl: 1.5 }));
    expect(fraction.message).toBe("create_role: ttl must be an integer; got 1.5. Nothing was sent.");
    const flag = await refused(() => ps.createRole({ ...BRANCH, ttl: true as never }));
    expect(flag.message).toBe("create_role: ttl must be an integer; got boolean. Nothing was sent.");
  });

  it("refuses a query field of the wrong type", async () => {
    const error = await refused(() => ps.listRoles({ ...BRANCH, q: 42 as never }));
    expect(error.field).toBe("q");
    expect(error.message).toBe("list_roles: q must be a string; got 42. Nothing was sent.");
  });

  it("shows a value of up to 40 characters whole, and cuts a longer one at 40", async () => {
    const forty = "a/".repeat(20);
    const whole = await refused(() => ps.getRole({ ...ROLE, organization: forty }));
    expect(whole.message).toContain(`; got "${forty}". Nothing was sent.`);
    const fifty = "b/".repeat(25);
    const cut = await refused(() => ps.getRole({ ...ROLE, organization: fifty }));
    expect(cut.message).toContain(`; got "${fifty.slice(0, 40)}…". Nothing was sent.`);
  });

  it("names the sibling routes an id must not be", async () => {
    const error = await refused(() => ps.getRole({ ...ROLE, id: "default" }));
    expect(error.message).toBe(
      `get_role: id must be other than default, reset-default, with or without a .suffix (those are other routes' paths); got "default". Nothing was sent.`,
    );
  });

  it("says a required field must be given", async () => {
    const error = await refused(() => ps.reassignRoleObjects({ ...ROLE } as never));
    expect(error.field).toBe("successor");
    expect(error.message).toBe("reassign_role_objects: successor must be given; got undefined. Nothing was sent.");
  });
});

describe("params", () => {
  it("refuses undefined params as params", async () => {
    const error = await refused(() => ps.getRole(undefined as never));
    expect(error.field).toBe("params");
  });

  it("accepts params made without a prototype", async () => {
    const params = Object.assign(Object.create(null) as object, ROLE);
    await expect(ps.getRole(params as typeof ROLE)).resolves.toMatchObject({ id: "role-1" });
  });
});

describe("request options", () => {
  it("refuses a maxRetries given as a string and a timeoutMs that is NaN", async () => {
    const text = await refused(() => ps.getRole(ROLE, { maxRetries: "2" as never }));
    expect(text.message).toBe('get_role: maxRetries must be an integer of 0 or more; got "2". Nothing was sent.');
    const nan = await refused(() => ps.getRole(ROLE, { timeoutMs: Number.NaN }));
    expect(nan.field).toBe("timeoutMs");
  });

  it("refuses options that are not an object", async () => {
    const error = await refused(() => ps.getRole(ROLE, "fast" as never));
    expect(error.message).toBe('get_role: options must be an object of request options; got "fast". Nothing was sent.');
  });

  it("refuses unknown options, recoverAmbiguous outside createRole included, naming the allowed ones", async () => {
    const typo = await refused(() => ps.getRole(ROLE, { retries: 3 } as never));
    expect(typo.field).toBe("options.retries");
    expect(typo.message).toBe(
      'get_role: unknown option "retries"; allowed: signal, timeoutMs, maxRetries, headers. Nothing was sent.',
    );
    const elsewhere = await refused(() => ps.getRole(ROLE, { recoverAmbiguous: true } as never));
    expect(elsewhere.field).toBe("options.recoverAmbiguous");
  });

  it("refuses a signal that is not an AbortSignal", async () => {
    const error = await refused(() => ps.getRole(ROLE, { signal: "x" as never }));
    expect(error.message).toBe('get_role: signal must be an AbortSignal; got "x". Nothing was sent.');
  });
});
