// What this file proves: every 2xx is checked before it is used, and an answer the client cannot use
// (wrong shape, not JSON, broken off, no body, missing credentials) is an UnexpectedResponseError
// that names the field and keeps the raw body; 3xx and other statuses map to their classes; what
// the spec does not list passes through untouched.

import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { answerProblem } from "../src/answers.ts";
import { createClient, type PlanetScaleClient, PlanetScaleError, UnexpectedResponseError } from "../src/index.ts";
import { type FieldSchema, schemaProblem } from "../src/schema.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";
import { serverForTests } from "./support/per-test.ts";
import { json, startServer, type TestServer, truncated } from "./support/servers.ts";

/** A client whose every answer is `body` (as JSON) with status 200, recording what it was sent. */
function answering(...bodies: unknown[]) {
  const sent: string[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    sent.push(`${request.method} ${new URL(request.url).pathname.split("/").at(-1)}`);
    const body = bodies.length > 1 ? bodies.shift() : bodies[0];
    return new Response(typeof body === "string" ? body : JSON.stringify(body), {
      status: request.method === "DELETE" ? 204 : 200,
      headers: { "content-type": "application/json" },
    });
  };
  const ps = createClient({ serviceToken: "id:secret", baseUrl: "https://api.test/v1", fetch, maxRetries: 0 });
  return { ps, sent };
}

const everything = async <T>(items: AsyncIterable<T>) => {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
};

describe("a list answer of the wrong shape", () => {
  it("with data that is not an array is an UnexpectedResponseError naming data, with the body kept", async () => {
    const body = pageFixture({ data: { id: "role-1" } });
    const { ps } = answering(body);
    const error = await failure(everything(ps.listAllRoles(BRANCH)));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toBe("list_roles answered 200 with data that is an object, not an array.");
    expect((error as UnexpectedResponseError).body).toBe(JSON.stringify(body));
  });

  it("with data that holds something other than roles names the first bad item", async () => {
    const { ps } = answering(pageFixture({ data: [roleFixture({ password: "" }), 7] }));
    const error = await failure(everything(ps.listAllRoles(BRANCH)));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toBe("list_roles answered 200 with data[1] that is an integer, not an object.");
  });

  it("names a nested field of the wrong type by its path", async () => {
    const listed = roleFixture({ password: "" });
    const { ps } = answering(pageFixture({ data: [{ ...listed, branch: { ...listed.branch, name: 5 } }] }));
    const error = await failure(ps.listRoles(BRANCH));
    expect(error.message).toBe("list_roles answered 200 with data[0].branch.name that is an integer, not a string.");
  });

  it("names every required field that is missing", async () => {
    const { id: _id, name: _name, ...rest } = roleFixture();
    const { ps } = answering(rest);
    const error = await failure(ps.getRole({ ...BRANCH, id: "role-1" }));
    expect(error.message).toBe("get_role answered 200 without id and name.");
  });
});

describe("a create answer of the wrong shape", () => {
  it("with no body at all is unusable, and keeps the empty body", async () => {
    const bodiless: typeof fetch = async () => new Response(null, { status: 200 });
    const ps = createClient({ serviceToken: "id:secret", baseUrl: "https://api.test/v1", fetch: bodiless });
    const error = await failure(ps.createRole({ ...BRANCH, name: "ci" }));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toMatch(/^create_role answered 200 with a body that is not JSON\./);
    expect((error as UnexpectedResponseError).body).toBe("");
  });

  it("in createTemporaryRole says which role, by name, is left and how to find it, keeps the body and deletes nothing", async () => {
    const { id: _id, ...withoutId } = roleFixture({ name: "tmp" });
    const { ps, sent } = answering(withoutId);
    let called = false;
    const error = await failure(
      ps.createTemporaryRole({ ...BRANCH, name: "tmp", ttl: 60 }, () => {
        called = true;
      }),
    );
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toBe(
      "create_role answered 200 without id. It took effect on the server; the raw answer is kept in error.body, " +
        "which may hold the only copy of the password. " +
        'A role named "tmp" now exists on acme/app-db/main; if you cannot use it, find it with ' +
        'listRoles({ organization, database, branch, q: "tmp" }) and delete it.',
    );
    expect((error as UnexpectedResponseError).body).toContain(withoutId.password);
    expect(called).toBe(false);
    expect(sent).toEqual(["POST roles"]);
  });

  it("with an id that is not a string is refused the same way", async () => {
    const { ps } = answering(roleFixture({ id: 42 as never }));
    const error = await failure(ps.createRole({ ...BRANCH, name: "ci" }));
    expect(error.message).toMatch(/^create_role answered 200 with id that is an integer, not a string\. /);
  });
});

describe("the words for a field of the wrong type", () => {
  it("say an integer too large to be exact is one, not 'an integer, not an integer'", async () => {
    const { ps } = answering(pageFixture({ next_page: 2 ** 53 + 1 }));
    const error = await failure(ps.listRoles(BRANCH));
    expect(error.message).toBe(
      "list_roles answered 200 with next_page that is an integer too large to be exact, not an integer.",
    );
  });

  it("say a password of the wrong type is of the wrong type, not missing", async () => {
    const { ps } = answering({ username: "postgres.x", password: 12345, access_host_url: "h" });
    const error = await failure(ps.resetDefaultRole(BRANCH));
    expect(error.message).toMatch(/^reset_default_role answered 200 with password that is an integer, not a string\. /);
  });
});

describe("what the spec does not list", () => {
  it("passes through untouched: unknown fields and enum values, and null where the spec allows it", async () => {
    const role = {
      ...roleFixture({ expires_at: null, inherited_roles: ["pscale_managed" as never] }),
      query_safety_settings: { require_where_on_delete: "strict", require_where_on_update: "off" },
      future_field: { nested: [1, 2] },
    };
    const { ps } = answering(role);
    const got = await ps.getRole({ ...BRANCH, id: "role-1" });
    expect(JSON.parse(JSON.stringify(got))).toEqual(role);
  });

  it("still refuses null where the spec does not allow it", async () => {
    const { ps } = answering(roleFixture({ username: null as never }));
    const error = await failure(ps.getRole({ ...BRANCH, id: "role-1" }));
    expect(error.message).toBe("get_role answered 200 with username that is null, not a string.");
  });
});

describe("on a recording server", () => {
  let server: TestServer;
  let ps: PlanetScaleClient;

  beforeAll(async () => {
    server = await startServer(json(200, roleFixture()));
    ps = createClient({ serviceToken: "a:b", baseUrl: server.url });
  });

  afterAll(() => server.close());

  async function unusable(): Promise<UnexpectedResponseError> {
    const error = await ps.createRole(BRANCH).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(server.requests.filter((r) => r.method === "POST").length).toBeGreaterThan(0);
    return error as UnexpectedResponseError;
  }

  describe("a 2xx create answer the client cannot use", () => {
    it("that is not JSON keeps its raw body", async () => {
      server.next(json(200, "<html>password: hunter2</html>"));
      const error = await unusable();
      expect(error.body).toBe("<html>password: hunter2</html>");
      expect(error.message).toMatch(/not JSON.*error\.body/);
    });

    it("that breaks off keeps what arrived", async () => {
      const partial = JSON.stringify(roleFixture()).slice(0, 300);
      server.next(truncated(partial));
      const error = await unusable();
      expect(error.body).toBe(partial);
      expect(error.body).toContain(roleFixture().password);
      expect(error.message).toContain("broke off");
    });

    it("that lacks the credentials keeps its raw body", async () => {
      const { password: _password, ...withoutPassword } = roleFixture();
      server.next(json(200, withoutPassword));
      const error = await unusable();
      expect(error.message).toContain("without password");
      expect(JSON.parse(error.body)).toEqual(withoutPassword);
    });

    it("whose bytes are not UTF-8 is refused, not handed out with a password the decoder changed", async () => {
      // JSON is UTF-8 (RFC 8259): a byte that is not would reach the caller as U+FFFD, a password
      // that silently fails to log in.
      const bytes = Buffer.from(JSON.stringify(roleFixture({ password: "pscale_pw_AB" })));
      bytes[bytes.indexOf("AB")] = 0xff;
      const broken = createClient({
        serviceToken: "id:secret",
        baseUrl: "https://api.test/v1",
        maxRetries: 0,
        fetch: async () => new Response(bytes, { headers: { "content-type": "application/json" } }),
      });
      const error = await broken.createRole(BRANCH).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      const unexpected = error as UnexpectedResponseError;
      expect(unexpected.message).toContain("create_role answered 200 with a body that is not UTF-8");
      expect(unexpected.message).toContain("error.body");
      // What arrived is kept, the byte it could not read marked.
      expect(unexpected.body).toContain("pscale_pw_\uFFFDB");
    });

    it("reads a character whose bytes arrive in two pieces as one character", async () => {
      const bytes = new TextEncoder().encode(JSON.stringify(roleFixture({ name: "rôle" })));
      const split = bytes.indexOf(0xc3) + 1;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.slice(0, split));
          controller.enqueue(bytes.slice(split));
          controller.close();
        },
      });
      const twoPieces = createClient({
        serviceToken: "id:secret",
        baseUrl: "https://api.test/v1",
        fetch: async () => new Response(body, { headers: { "content-type": "application/json" } }),
      });
      expect((await twoPieces.createRole(BRANCH)).name).toBe("rôle");
    });

    it("that gives the password twice is refused with both kept, not resolved to the last", async () => {
      // JSON.parse keeps the last of two equal keys: the other password would be lost unseen.
      const text = JSON.stringify(roleFixture({ password: "pscale_pw_first" })).replace(
        '"password":',
        '"password":"pscale_pw_second","password" :',
      );
      server.next(json(200, text));
      const error = await unusable();
      expect(error.message).toContain("create_role answered 200 with password given twice");
      expect(error.body).toBe(text);
    });

    it("that gives the username twice is refused too", async () => {
      const text = JSON.stringify(roleFixture()).replace('"username":', '"username":"other",\n"username"\t:');
      server.next(json(200, text));
      const error = await unusable();
      expect(error.message).toContain("create_role answered 200 with username given twice");
      expect(error.body).toBe(text);
    });

    it("whose values spell password and username is handed out: only a key given twice is refused", async () => {
      server.next(json(200, roleFixture({ name: "password", base_username: "username", database_name: "password" })));
      const role = await ps.createRole(BRANCH);
      expect([role.name, role.base_username, role.password]).toEqual(["password", "username", roleFixture().password]);
    });

    it("that gives the password or username twice under escaped spellings is refused too", async () => {
      for (const [key, again] of [
        ["password", '"pass\\u0077ord"'],
        ["password", '"\\u0070assword"'],
        ["username", '"user\\u006eame"'],
      ] as const) {
        const text = JSON.stringify(roleFixture()).replace(`"${key}":`, `${again}:"other","${key}":`);
        server.next(json(200, text));
        const error = await unusable();
        expect(error.message).toContain(`create_role answered 200 with ${key} given twice`);
        expect(error.body).toBe(text);
      }
    });

    it("with a username or password of its own in a nested object is handed out: only the answer's own keys count", async () => {
      // An outside attack: an unknown nested field named username made every create fail as "given twice".
      const given = { ...roleFixture(), actor: { ...roleFixture().actor, username: "bob", password: "not-this-one" } };
      server.next(json(200, given));
      const role = await ps.createRole(BRANCH);
      expect(role.password).toBe(roleFixture().password);
      expect(role.actor).toEqual(given.actor);
    });

    it("that gives the password again after its nested objects is refused; another key given twice is not", async () => {
      const again = JSON.stringify(roleFixture()).replace(/}$/, ',"password":"pscale_pw_other"}');
      server.next(json(200, again));
      expect((await unusable()).message).toContain("create_role answered 200 with password given twice");
      const unknownTwice = JSON.stringify(roleFixture()).replace(/}$/, ',"note":"a","note":"b"}');
      server.next(json(200, unknownTwice));
      expect((await ps.createRole(BRANCH)).password).toBe(roleFixture().password);
    });

    it("with a long run of escaped quotes in a string hands the string out whole", async () => {
      // How long the scan for a key given twice takes on such a run (it was quadratic) is bench:answers's.
      const given = roleFixture({ name: '"'.repeat(5_000) });
      server.next(json(200, given));
      expect((await ps.createRole(BRANCH)).name).toBe(given.name);
    });

    it("that is JSON but not an object keeps its raw body", async () => {
      server.next(json(200, "[1,2]"));
      expect((await unusable()).body).toBe("[1,2]");
    });
  });

  describe("what the spec does not list passes through", () => {
    it("keeps unknown fields and enum values such as pscale_managed", async () => {
      server.next(
        json(200, {
          ...roleFixture(),
          inherited_roles: ["pscale_managed", "pg_read_all_data"],
          region: "us-east",
          query_safety_settings: { require_where_on_delete: "strict", require_where_on_update: "off" },
        }),
      );
      const role = await ps.createRole(BRANCH);
      expect(role.inherited_roles).toEqual(["pscale_managed", "pg_read_all_data"]);
      expect((role as unknown as { region: string }).region).toBe("us-east");
      expect(role.query_safety_settings.require_where_on_delete).toBe("strict");
    });
  });
});

describe("credentials in a create's answer", () => {
  const server = serverForTests({ reset: true });

  describe("a create answered 2xx", () => {
    it.each([
      ["an empty password", { password: "" }, "without password"],
      ["an empty username", { username: "" }, "without username"],
      ["a username that is not a string", { username: 42 }, "with username that is an integer, not a string"],
      ["neither", { username: "", password: "" }, "without username and password"],
    ])("with %s is unusable, and keeps its raw body", async (_what, overrides, says) => {
      server.next(json(200, { ...roleFixture(), ...overrides }));
      const error = await failure(createClient({ serviceToken: "id:secret", baseUrl: server.url }).createRole(BRANCH));
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toContain(`create_role answered 200 ${says}.`);
      expect(JSON.parse((error as UnexpectedResponseError).body)).toMatchObject(overrides);
    });
  });
});

describe("unusable answers", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });

  const client = (options: Parameters<typeof createClient>[0] = {}) =>
    createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0, ...options });

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
});

describe("redirects and other statuses", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests({ reset: true });
  const client = () => createClient({ serviceToken: "id:secret", baseUrl: server.url, maxRetries: 0 });

  describe("3xx answers", () => {
    it("treats 300 as a redirect it does not follow, and keeps status, operation and body", async () => {
      server.next((_req, res) => res.writeHead(300, { location: "https://elsewhere.example/roles" }).end("choose"));
      const error = await failure(client().getRole(ROLE));
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toMatch(/^get_role was redirected \(300\) to https:\/\/elsewhere\.example\/roles;/);
      expect(error).toMatchObject({ status: 300, operation: "get_role" });
      expect((error as UnexpectedResponseError).body).toBe("choose");
    });

    it("leaves open whether a create or reset answered by a redirect took effect, but not after 307 or 308", async () => {
      // 302 and 303 are how a server points at what a POST made; 307 and 308 say it was not done here.
      server.next((_req, res) => res.writeHead(303, { location: "https://api.example/roles/r1" }).end());
      const seeOther = await failure(client().createRole({ ...BRANCH, name: "ci" }));
      expect(seeOther.outcomeUnknown).toBe(true);
      expect(seeOther.message).toContain("the role may have been created on acme/app-db/main");
      expect(seeOther.message).toContain('listRoles({ organization, database, branch, q: "ci" })');
      server.next((_req, res) => res.writeHead(302, { location: "https://api.example/x" }).end());
      const reset = await failure(client().resetRole(ROLE));
      expect(reset.message).toContain("the old password may already be invalid");
      server.next((_req, res) => res.writeHead(307, { location: "https://api.example/x" }).end());
      const temporary = await failure(client().createRole({ ...BRANCH, name: "ci" }));
      expect(temporary.outcomeUnknown).toBe(false);
      expect(temporary.message).not.toContain("may have been created");
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
});

describe("statuses", () => {
  const ROLE = { ...BRANCH, id: "role-1" };
  const server = serverForTests();

  describe("errors", () => {
    it("for a 409 are the base class, not a redirect's UnexpectedResponseError", async () => {
      server.next(json(409, { code: "conflict", message: "taken" }));
      const error = await failure(createClient({ serviceToken: "a:b", baseUrl: server.url }).getRole(ROLE));
      expect(error.constructor).toBe(PlanetScaleError);
      expect(error).not.toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe("get_role failed: 409 conflict: taken");
    });

    it("show their name and message when inspected", async () => {
      server.next(json(404, { code: "not_found", message: "no role" }));
      const error = await failure(
        createClient({ serviceToken: "a:b", baseUrl: server.url, maxRetries: 0 }).getRole(ROLE),
      );
      const shown = inspect(error);
      expect(shown).toContain("NotFoundError: get_role failed: 404 not_found: no role");
      expect(shown).toContain("status: 404");
    });
  });
});

describe("the words for an answer of the wrong type", () => {
  it("names what the value is, in the words a person reads", () => {
    const object = { type: "object" };
    expect(answerProblem(object, [])).toBe("with JSON that is an array, not an object");
    expect(answerProblem(object, null)).toBe("with JSON that is null, not an object");
    expect(answerProblem({ type: "string" }, {})).toBe("with JSON that is an object, not a string");
    expect(answerProblem({ type: "string" }, true)).toBe("with JSON that is a boolean, not a string");
    expect(answerProblem({ type: "string" }, 1.5)).toBe("with JSON that is a number, not a string");
    expect(answerProblem({ type: "integer" }, 2 ** 60)).toBe(
      "with JSON that is an integer too large to be exact, not an integer",
    );
  });
});

// Each schema here is made in its test: a check is compiled once per schema and kept, so a schema
// of the spec's would have been compiled by whichever test met it first.
describe("the walk of an answer against its schema", () => {
  const role = (): FieldSchema => ({
    type: "object",
    fields: { id: { type: "string" }, name: { type: "string" }, note: { type: "string" } },
    required: ["id", "name"],
  });

  it("finds required fields missing at any depth, naming each by its path", () => {
    const page = { type: "object", fields: { data: { type: "array", items: role() } }, required: ["data"] };
    const answer = { data: [{ id: "role-1", name: "ci" }, { note: "half a role" }] };
    expect(schemaProblem(page, answer, "", false)).toEqual({
      at: "data[1]",
      kind: "missing",
      names: ["data[1].id", "data[1].name"],
    });
    expect(answerProblem(page, answer)).toBe("without data[1].id and data[1].name");
  });

  it("requires the listed fields only: an absent optional field fits, a present one is checked", () => {
    const schema = role();
    expect(schemaProblem(schema, { id: "role-1", name: "ci" }, "", false)).toBeUndefined();
    expect(schemaProblem(schema, { id: "role-1", name: "ci", note: 5 }, "", false)).toEqual({
      at: "note",
      kind: "type",
      expected: "a string",
      value: 5,
    });
    expect(schemaProblem(schema, { note: "x" }, "", false)).toEqual({ at: "", kind: "missing", names: ["id", "name"] });
    const optional = { type: "object", fields: { note: { type: "string" } } };
    expect(schemaProblem(optional, {}, "", false)).toBeUndefined();
  });

  it("takes any items in an array the spec gives no item schema", () => {
    expect(schemaProblem({ type: "array" }, [1, "two", { three: 3 }], "", false)).toBeUndefined();
  });
});
