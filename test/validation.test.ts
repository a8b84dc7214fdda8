// What this file proves: bad input is refused before anything is sent, with a message that names
// the field, says what was allowed and shows what it got: params, path parameters (sibling routes
// included), client and request options, request headers, baseUrl; and input it accepts is sent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { operations } from "../src/generated/operations.ts";
import {
  ConnectionError,
  createClient,
  createRole,
  INHERITED_ROLES,
  InvalidRequestError,
  type PlanetScaleClient,
  type PlanetScaleError,
} from "../src/index.ts";
import { parseRetryAfter } from "../src/retry.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { checkValue } from "../src/validate.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { clientForTests, serverForTests } from "./support/per-test.ts";
import { json, startServer, type TestServer } from "./support/servers.ts";

let server: TestServer;
let ps: PlanetScaleClient;

beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
  ps = createClient({ serviceToken: "a:b", baseUrl: server.url });
});

afterAll(() => server.close());

// Each row: what is passed (as a caller without types might), the field blamed, and the allowed values named.
const badCreates: [string, unknown, string, RegExp][] = [
  ["a missing organization", { database: "app-db", branch: "main" }, "organization", /given/],
  ["an empty database", { ...BRANCH, database: "" }, "database", /non-empty/],
  ["a branch that climbs up the path", { ...BRANCH, branch: ".." }, "branch", /single path segment/],
  ["a branch with a slash", { ...BRANCH, branch: "main/roles/x" }, "branch", /single path segment/],
  ["an organization with a query", { ...BRANCH, organization: "acme?x=1" }, "organization", /single path segment/],
  ["an encoded slash", { ...BRANCH, branch: "a%2Fb" }, "branch", /single path segment/],
  ["a numeric branch", { ...BRANCH, branch: 7 }, "branch", /a string/],
  ["a string ttl", { ...BRANCH, ttl: "3600" }, "ttl", /an integer/],
  ["a fractional ttl", { ...BRANCH, ttl: 1.5 }, "ttl", /an integer/],
  ["a negative ttl", { ...BRANCH, ttl: -1 }, "ttl", /non-negative/],
  ["an unsafe ttl", { ...BRANCH, ttl: 2 ** 60 }, "ttl", /an integer/],
  ["NaN ttl", { ...BRANCH, ttl: Number.NaN }, "ttl", /an integer/],
  [
    "an unknown inherited role",
    { ...BRANCH, inherited_roles: ["pg_read_all_data", "pg_superuser"] },
    "inherited_roles[1]",
    /one of pg_checkpoint, .*postgres/,
  ],
  ["inherited roles as a string", { ...BRANCH, inherited_roles: "pg_monitor" }, "inherited_roles", /an array/],
  ["an empty name", { ...BRANCH, name: "  " }, "name", /non-empty/],
  [
    "require_where_on_delete outside off/warn/on",
    { ...BRANCH, require_where_on_delete: "always" },
    "require_where_on_delete",
    /one of off, warn, on/,
  ],
  ["with_replication as a string", { ...BRANCH, with_replication: "yes" }, "with_replication", /true or false/],
  [
    "an unknown field",
    { ...BRANCH, inheritedRoles: ["pg_monitor"] },
    "inheritedRoles",
    /allowed: organization, database, branch, name, ttl/,
  ],
  ["params that are not an object", "acme/app-db/main", "params", /plain object/],
  ["params that are an array", [BRANCH], "params", /plain object/],
  ["params that are a class instance", new Date(), "params", /plain object/],
];

describe("createRole refuses bad input before sending", () => {
  it.each(badCreates)("refuses %s", async (_name, params, field, allowed) => {
    const before = server.requests.length;
    const error = await ps.createRole(params as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field, operation: "create_role" });
    expect((error as Error).message).toContain(field);
    expect((error as Error).message).toMatch(allowed);
    expect(server.requests.length).toBe(before);
  });

  it("checks inherited roles against the generated enum list", async () => {
    const allowed = operations.create_role.body.fields.inherited_roles.items.enum;
    expect(allowed).toContain("pg_read_all_data");
    expect(INHERITED_ROLES).toEqual(allowed);
    await ps.createRole({ ...BRANCH, inherited_roles: [...allowed] });
    expect(JSON.parse(server.requests.at(-1)?.body ?? "").inherited_roles).toEqual(allowed);
  });

  it("accepts ttl 0 and leaves undefined fields out of the body", async () => {
    await ps.createRole({ ...BRANCH, ttl: 0, name: undefined });
    expect(JSON.parse(server.requests.at(-1)?.body ?? "")).toEqual({ ttl: 0 });
  });

  it("refuses bad request options", async () => {
    await expect(ps.createRole(BRANCH, { timeoutMs: 0 })).rejects.toThrow(
      /timeoutMs must be a number from 1 to 2147483647/,
    );
    await expect(ps.createRole(BRANCH, { maxRetries: -1 })).rejects.toThrow(
      /maxRetries must be an integer of 0 or more/,
    );
  });

  it("refuses a serviceToken object with a field other than id and token, naming it", () => {
    const options = { serviceToken: { id: "a", token: "t", secret: "hunter2" } as { id: string; token: string } };
    expect(() => createClient(options)).toThrow(
      "createClient: serviceToken.secret must be left out: serviceToken takes id, token",
    );
    expect(() => createClient(options)).not.toThrow(/hunter2/);
  });

  it("refuses bad client options", () => {
    expect(() => createClient({ serviceToken: "no-colon" })).toThrow(/serviceToken must be "<id>:<token>"/);
    expect(() => createClient({ serviceToken: { id: "", token: "t" } })).toThrow(/serviceToken.id/);
    expect(() => createClient({ serviceToken: "a:b", accessToken: "c" })).toThrow(/not both/);
    expect(() => createClient({ serviceToken: "a:b", timeoutMs: -5 })).toThrow(/timeoutMs/);
    expect(() => createClient({ serviceToken: "a:b", baseUrl: "not a url" })).toThrow(/baseUrl must be an absolute/);
  });
});

describe("every operation checks its path parameters", () => {
  it.each([
    ["getRole", { ...BRANCH, id: "../default" }],
    ["deleteRole", { ...BRANCH, id: "" }],
    ["renewRole", { ...BRANCH }],
    ["listRoles", { ...BRANCH, page: 0 }],
    ["reassignRoleObjects", { ...BRANCH, id: "r1" }],
  ] as const)("%s refuses %o", async (method, params) => {
    const before = server.requests.length;
    const call = ps[method] as (p: unknown) => Promise<unknown>;
    await expect(call(params)).rejects.toBeInstanceOf(InvalidRequestError);
    expect(server.requests.length).toBe(before);
  });
});

describe("listRoles' status filter", () => {
  it("refuses a status PlanetScale does not know, naming the four it does, with nothing sent", async () => {
    const fake = createFakePlanetScale();
    const client = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
    const error = await client.listRoles({ ...BRANCH, status: "bogus" as never }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field: "status", operation: "list_roles" });
    expect((error as Error).message).toMatch(/status.*one of active, renewable, disabled, expired/);
    expect(fake.requests).toEqual([]);
  });

  it("sends each of the four", async () => {
    const fake = createFakePlanetScale();
    const client = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
    for (const status of ["active", "renewable", "disabled", "expired"] as const) {
      await client.listRoles({ ...BRANCH, status });
    }
    expect(fake.requests.map((request) => request.query.status)).toEqual([
      "active",
      "renewable",
      "disabled",
      "expired",
    ]);
  });
});

describe("a field schema with no type", () => {
  it("accepts anything for type any (a schema with no type)", () => {
    expect(() => checkValue("op", "f", { type: "any" }, { nested: [1] })).not.toThrow();
    expect(() => checkValue("op", "f", { type: "any", nullable: true }, null)).not.toThrow();
  });
});

describe("each refusal's words", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() => createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 }));

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
      expect(error.message).toBe(
        'get_role: options must be an object of request options; got "fast". Nothing was sent.',
      );
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
});

describe("ids, options and URLs", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const FAST = { baseMs: 5, maxMs: 20 };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() =>
    createClient({ serviceToken: "id:secret", baseUrl: server.url, backoff: FAST, maxRetries: 2 }),
  );

  describe("path parameters that name a sibling route", () => {
    it.each(["default", "reset-default"])('refuses getRole({ id: "%s" }) before sending', async (id) => {
      const error = await failure(ps.getRole({ ...BRANCH, id }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ field: "id", operation: "get_role" });
      expect(error?.message).toContain(JSON.stringify(id));
      expect(server.requests).toHaveLength(0);
    });

    it("refuses the literal segments for every operation with an id, and still sends ordinary ids", async () => {
      await expect(ps.deleteRole({ ...BRANCH, id: "default" })).rejects.toMatchObject({ field: "id" });
      await expect(ps.renewRole({ ...BRANCH, id: "reset-default" })).rejects.toMatchObject({ field: "id" });
      expect(server.requests).toHaveLength(0);
      await ps.getRole({ ...BRANCH, id: "defaults" });
      expect(server.requests.map((request) => request.url)).toEqual([
        "/organizations/acme/databases/app-db/branches/main/roles/defaults",
      ]);
    });
  });

  describe("inputs that slipped through", () => {
    it("refuses a query string with half a character (a lone surrogate), unsent and not retried", async () => {
      let sent = 0;
      const counting: typeof fetch = async () => {
        sent++;
        return Response.json(pageFixture());
      };
      const client = createClient({ serviceToken: "a:b", baseUrl: "https://api.test/v1", fetch: counting });
      // A name cut in the middle of an emoji: no URL can carry it.
      const error = await failure(client.listRoles({ ...BRANCH, q: "ci-\uD83D" }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(error).toMatchObject({ field: "q" });
      expect(error.message).toBe(
        'list_roles: q must be well-formed text (no lone surrogate); got "ci-\\ud83d". Nothing was sent.',
      );
      await client.listRoles({ ...BRANCH, q: "ci-\uD83D\uDE00" });
      expect(sent).toBe(1);
    });

    it("refuses a baseUrl with user info", () => {
      expect(() => createClient({ serviceToken: "id:secret", baseUrl: "https://u:pw@api.example.com/v1" })).toThrow(
        expect.objectContaining({ name: "InvalidRequestError", field: "baseUrl" }),
      );
      let message = "";
      try {
        createClient({ serviceToken: "id:secret", baseUrl: "https://u:pw@api.example.com/v1" });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).not.toContain("pw");
    });

    it("allows plain http only to literal loopback addresses and localhost", () => {
      const make = (baseUrl: string) => () => createClient({ serviceToken: "id:secret", baseUrl });
      expect(make("http://evil.localhost/v1")).toThrow(InvalidRequestError);
      expect(make("http://localhost.evil.com/v1")).toThrow(InvalidRequestError);
      expect(make("http://127.0.0.1.nip.io/v1")).toThrow(InvalidRequestError);
      expect(make("http://localhost:8080/v1")).not.toThrow();
      expect(make("http://127.5.6.7/v1")).not.toThrow();
      expect(make("http://[::1]:8080/v1")).not.toThrow();
    });

    it.each([
      ["null", null],
      ["a string", "x"],
      ["a number", 5],
    ])("refuses request options that are %s, for createRole and the others", async (_what, options) => {
      const asOptions = options as never;
      await expect(ps.createRole({ ...BRANCH, name: "ci" }, asOptions)).rejects.toMatchObject({
        name: "InvalidRequestError",
        field: "options",
      });
      await expect(ps.getRole(ROLE, asOptions)).rejects.toMatchObject({
        name: "InvalidRequestError",
        field: "options",
      });
      expect(server.requests).toHaveLength(0);
    });

    it("refuses a signal that is not an AbortSignal", async () => {
      const options = { signal: "x" } as never;
      await expect(ps.createRole({ ...BRANCH, name: "ci" }, options)).rejects.toMatchObject({
        name: "InvalidRequestError",
        field: "signal",
      });
      await expect(ps.getRole(ROLE, options)).rejects.toMatchObject({ field: "signal" });
      expect(server.requests).toHaveLength(0);
    });
  });
});

describe("headers, options and the fake", () => {
  const TOKEN = "pscale_tkn_Outsider-Secret-7";
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });
  const ps = clientForTests(() =>
    createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: server.url, backoff: { baseMs: 5, maxMs: 5 } }),
  );

  describe("request headers fetch will not send", () => {
    it.each([
      "expect",
      "transfer-encoding",
      "upgrade",
      "keep-alive",
      "connection",
      "host",
      "content-length",
      // The two the client depends on: answers never compressed, JSON bodies.
      "accept-encoding",
      "content-type",
    ])("%s is refused before sending", async (name) => {
      const error = await failure(ps.createRole({ ...BRANCH, name: "ci" }, { headers: { [name]: "x" } }));
      expect(error).toBeInstanceOf(InvalidRequestError);
      expect(server.requests).toHaveLength(0);
    });

    it("an argument fetch refuses is a failure that sent nothing", async () => {
      const refusing: typeof fetch = async () => {
        throw Object.assign(new TypeError("fetch failed"), {
          cause: Object.assign(new Error("expect header not supported"), { code: "UND_ERR_NOT_SUPPORTED" }),
        });
      };
      const client = createClient({
        serviceToken: `svc:${TOKEN}`,
        baseUrl: server.url,
        fetch: refusing,
        maxRetries: 0,
      });
      const error = await failure(client.createRole({ ...BRANCH, name: "ci" }));
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ requestSent: false, outcomeUnknown: false });
    });

    it("a proxy that refuses the tunnel (407) is a failure that sent nothing", async () => {
      const refusing: typeof fetch = async () => {
        throw Object.assign(new TypeError("fetch failed"), {
          cause: Object.assign(new Error("Proxy response (407) !== 200 when HTTP Tunneling"), {
            code: "UND_ERR_ABORTED",
          }),
        });
      };
      const client = createClient({
        serviceToken: `svc:${TOKEN}`,
        baseUrl: server.url,
        fetch: refusing,
        maxRetries: 0,
      });
      const error = await failure(client.createRole({ ...BRANCH, name: "ci" }));
      expect(error).toMatchObject({ requestSent: false, outcomeUnknown: false });
      expect(error.message).toBe("create_role: could not connect; nothing was sent (UND_ERR_ABORTED)");
    });
  });

  describe("options that slipped through", () => {
    it.each([
      ["backoff", { backoff: "fast" }],
      ["logger", { logger: "yes" }],
      ["options.bogus", { bogus: 1 }],
    ])("createClient refuses %s", (field, options) => {
      expect(() => createClient({ serviceToken: `svc:${TOKEN}`, baseUrl: server.url, ...(options as object) })).toThrow(
        expect.objectContaining({ name: "InvalidRequestError", field }),
      );
    });

    it("refuses a signal that only pretends to be an AbortSignal", async () => {
      const signal = Object.create(AbortSignal.prototype) as AbortSignal;
      await expect(ps.getRole(ROLE, { signal })).rejects.toMatchObject({
        name: "InvalidRequestError",
        field: "signal",
      });
      expect(server.requests).toHaveLength(0);
    });

    it.each(["default.json", "reset-default.xml"])(
      "refuses id %j, which a format suffix would route to a sibling",
      async (id) => {
        await expect(ps.getRole({ ...BRANCH, id })).rejects.toMatchObject({ field: "id" });
        expect(server.requests).toHaveLength(0);
      },
    );

    it.each(["https://api.example.com/v1?x=1", "https://api.example.com/v1#frag"])(
      "refuses a baseUrl with a query or fragment: %s",
      (baseUrl) => {
        expect(() => createClient({ serviceToken: `svc:${TOKEN}`, baseUrl })).toThrow(
          expect.objectContaining({ field: "baseUrl" }),
        );
      },
    );

    it("reads a leap second in an HTTP-date", () => {
      expect(parseRetryAfter("Wed, 31 Dec 2025 23:59:60 GMT", Date.UTC(2025, 11, 31, 23, 59, 0))).toBe(60_000);
    });
  });

  describe("the fake, asked for an expiry no date can hold", () => {
    it("answers 422 naming ttl, as it does other bad input, rather than throwing", async () => {
      const fake = createFakePlanetScale();
      const faked = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
      const error = await failure(faked.createRole({ ...BRANCH, name: "forever", ttl: 8_640_000_000_000 }));
      expect(error).toMatchObject({ status: 422 });
      expect(error?.message).toContain("ttl");
      expect(fake.roles()).toEqual([]);
    });
  });
});

describe("request headers", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });

  describe("request headers are refused in so many words", () => {
    const ps = () => createClient({ serviceToken: "id:secret", baseUrl: server.url });

    it("Authorization", async () => {
      const error = await failure(ps().getRole(ROLE, { headers: { Authorization: "x" } }));
      expect(error.message).toBe(
        `get_role: headers["Authorization"] must be left out: the credentials header comes from the client's serviceToken or accessToken; got "". Nothing was sent.`,
      );
    });

    it("one the client sets itself", async () => {
      const error = await failure(ps().getRole(ROLE, { headers: { Host: "x" } }));
      expect(error.message).toBe(
        `get_role: headers["Host"] must be left out: fetch or the client sets it itself; got "Host". Nothing was sent.`,
      );
    });

    it("a value with a line break, and headers that are not an object", async () => {
      const broken = await failure(ps().getRole(ROLE, { headers: { "x-a": "1\n2" } }));
      expect(broken.message).toBe(
        `get_role: headers["x-a"] must be a string without line breaks or control characters; got "1\\u000a2". Nothing was sent.`.replace(
          "\\u000a",
          "\\n",
        ),
      );
      const notObject = await failure(ps().getRole(ROLE, { headers: "x" as never }));
      expect(notObject.message).toBe(
        `get_role: headers must be an object of header names and string values; got "x". Nothing was sent.`,
      );
      expect(server.requests).toHaveLength(0);
    });
  });
});

describe("refusals in so many words", () => {
  const server = serverForTests();

  describe("refusals", () => {
    it("of a baseUrl with a query says what is wrong and names the field", () => {
      expect(() => createClient({ serviceToken: "a:b", baseUrl: "https://api.example.com/v1?x=1" })).toThrow(
        expect.objectContaining({
          field: "baseUrl",
          message: "baseUrl must not have a query (?…) or a fragment (#…)",
        }),
      );
    });

    it("of Authorization on ps.raw names the header and says where credentials come from", async () => {
      const ps = createClient({ serviceToken: "a:b", baseUrl: server.url });
      const error = await ps.raw
        .GET("/organizations/{organization}/databases/{database}/branches/{branch}/roles/default", {
          params: { path: BRANCH },
          headers: { Authorization: "other" },
        })
        .catch((e: unknown) => e as PlanetScaleError & { field?: string });
      expect(error).toMatchObject({
        name: "InvalidRequestError",
        field: "headers.Authorization",
        message:
          "request headers must not replace Authorization: the credentials come from the client's serviceToken or accessToken",
      });
    });
  });
});

describe("createClient's options, refused before any request", () => {
  const valid = { serviceToken: "a:b", baseUrl: "http://127.0.0.1:9" };
  const noop = () => undefined;
  const limiter = { acquire: noop, limited: noop, accepted: noop };
  const clock = { now: () => 0, sleep: async () => {}, timeout: () => new AbortController().signal };
  /** What createClient threw for these options (nothing when it took them). */
  const refusal = (options: unknown): unknown => {
    try {
      createClient(options as never);
    } catch (error) {
      return error;
    }
    return undefined;
  };

  it.each([
    [
      { bogus: 1 },
      "options.bogus",
      "createClient: options.bogus must be left out: the options are serviceToken, accessToken",
    ],
    [{ backoff: 5 }, "backoff", "createClient: backoff must be an object of baseMs, maxMs, maxRetryAfterMs"],
    [{ backoff: null }, "backoff", "createClient: backoff must be an object of baseMs, maxMs, maxRetryAfterMs"],
    [
      { backoff: { jitter: 1 } },
      "backoff.jitter",
      "createClient: backoff.jitter must be left out: backoff takes baseMs, maxMs, maxRetryAfterMs",
    ],
    [{ logger: "x" }, "logger", "createClient: logger must be a function"],
    [{ env: "x" }, "env", "createClient: env must be an object of variables"],
    [{ env: null }, "env", "createClient: env must be an object of variables"],
    [
      { rateLimiter: { acquire: noop, limited: noop } },
      "rateLimiter",
      "createClient: rateLimiter must be false or an object",
    ],
    [
      { rateLimiter: { ...limiter, bind: 1 } },
      "rateLimiter.bind",
      "createClient: rateLimiter.bind must be a function when given",
    ],
    [
      { clock: { now: noop, sleep: noop } },
      "clock",
      "createClient: clock must be an object with now, sleep and timeout methods",
    ],
    [{ onRetry: 1 }, "onRetry", "createClient: onRetry must be a function"],
    [{ fetch: 1 }, "fetch", "createClient: fetch must be a function"],
    [{ userAgent: 5 }, "userAgent", "createClient: userAgent must be a string of printable ASCII"],
    [{ userAgent: "a\nb" }, "userAgent", "createClient: userAgent must be a string of printable ASCII"],
    [{ userAgent: "\nab" }, "userAgent", "createClient: userAgent must be a string of printable ASCII"],
    [{ maxRetries: 1.5 }, "maxRetries", "createClient: maxRetries must be an integer of 0 or more"],
    [{ timeoutMs: 0 }, "timeoutMs", "createClient: timeoutMs must be a number from 1 to"],
    [{ backoff: { baseMs: -1 } }, "backoff.baseMs", "createClient: backoff.baseMs must be a number from 0 to"],
    [{ backoff: { maxMs: -1 } }, "backoff.maxMs", "createClient: backoff.maxMs must be a number from 0 to"],
    [
      { backoff: { maxRetryAfterMs: -1 } },
      "backoff.maxRetryAfterMs",
      "createClient: backoff.maxRetryAfterMs must be a number from 0 to",
    ],
    [{ maxConcurrency: 0 }, "maxConcurrency", "createClient: maxConcurrency must be an integer of 1 or more"],
    [{ maxConcurrency: 1.5 }, "maxConcurrency", "createClient: maxConcurrency must be an integer of 1 or more"],
  ])("refuses %o, naming %s", (options, field, words) => {
    const error = refusal({ ...valid, ...options });
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe(field);
    expect((error as Error).message).toContain(words);
  });

  it("refuses options that are not an object", () => {
    expect((refusal(null) as InvalidRequestError).field).toBe("options");
  });

  it("takes every option in its range: an unbounded maxConcurrency, a clock, a limiter, printable ASCII", () => {
    const options = { maxConcurrency: Number.POSITIVE_INFINITY, clock, rateLimiter: limiter, userAgent: "app/1.0 (x)" };
    expect(() => createClient({ ...valid, ...options, fetch: noop as never, onRetry: noop, env: {} })).not.toThrow();
    expect(() => createClient({ ...valid, rateLimiter: false })).not.toThrow();
  });
});

describe("the standalone createRole, refused before any request", () => {
  // It takes no client options: what can be wrong is what the environment gives it.
  const withEnv = async (env: Record<string, string>, run: () => unknown): Promise<unknown> => {
    const saved = { ...process.env };
    try {
      delete process.env.PLANETSCALE_ACCESS_TOKEN;
      Object.assign(process.env, { PLANETSCALE_API_URL: server.url }, env);
      return await (async () => run())();
    } catch (error) {
      return error;
    } finally {
      process.env = saved;
    }
  };
  const token = { PLANETSCALE_SERVICE_TOKEN_ID: "env-id", PLANETSCALE_SERVICE_TOKEN: "env-secret" };

  it("refuses when the runtime has no global fetch, naming fetch", async () => {
    const sent = server.requests.length;
    const globalFetch = globalThis.fetch;
    const error = await withEnv(token, () => {
      (globalThis as { fetch?: unknown }).fetch = undefined;
      try {
        return createRole(BRANCH);
      } finally {
        globalThis.fetch = globalFetch;
      }
    });
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({
      field: "fetch",
      message: "createClient: fetch must be a function (no global fetch found)",
    });
    expect(server.requests).toHaveLength(sent);
  });

  it("refuses a PLANETSCALE_API_URL over plain http to another host, naming baseUrl", async () => {
    const error = await withEnv({ ...token, PLANETSCALE_API_URL: "http://api.planetscale.com/v1" }, () =>
      createRole(BRANCH),
    );
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field: "baseUrl" });
    expect((error as Error).message).toContain("credentials are only sent over https");
  });

  it("refuses when the environment holds no credentials, saying which variables to set", async () => {
    const sent = server.requests.length;
    const error = await withEnv({ PLANETSCALE_SERVICE_TOKEN_ID: "", PLANETSCALE_SERVICE_TOKEN: "" }, () =>
      createRole(BRANCH),
    );
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as Error).message).toContain("set PLANETSCALE_SERVICE_TOKEN_ID and PLANETSCALE_SERVICE_TOKEN");
    expect(server.requests).toHaveLength(sent);
  });

  it("sends what the environment gives once it passes", async () => {
    const sent = server.requests.length;
    await expect(withEnv(token, () => createRole(BRANCH))).resolves.toHaveProperty("password");
    expect(server.requests).toHaveLength(sent + 1);
  });
});
