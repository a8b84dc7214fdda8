// Every 2xx is checked against the generated schema of its operation at one boundary: an answer of
// the wrong shape is an UnexpectedResponseError that names the field and keeps the body, never a
// TypeError from deeper in; unknown fields and enum values pass through untouched.
import { describe, expect, it } from "vitest";
import { createClient, UnexpectedResponseError } from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";

/** A client whose every answer is `body` (as JSON) with status 200, recording what it was sent. */
function answering(...bodies: unknown[]) {
  const sent: string[] = [];
  const fetch: typeof globalThis.fetch = async (input) => {
    const request = input as Request;
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
