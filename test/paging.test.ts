// listAllRoles: every role that existed when the loop began, once, whatever the loop does to the
// roles and whatever the server does with its pages; and always an end.
import { describe, expect, it } from "vitest";
import { createClient, UnexpectedResponseError } from "../src/index.ts";
import { MAX_LIST_PAGES } from "../src/roles.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, pageFixture, roleFixture } from "./support/fixtures.ts";

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
  const fetch: typeof globalThis.fetch = async (input) => {
    requests++;
    const page = Number(new URL((input as Request).url).searchParams.get("page"));
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
    const { ps, requests } = pagedBy((page) => pageFixture({ current_page: page, next_page: page + 1, data: [same] }));
    const error = await failure(everything(ps.listAllRoles(BRANCH)));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toBe("list_roles answered page 2 with only roles it had listed before");
    expect(requests()).toBe(2);
  });

  it(`with new roles on every page stops at ${MAX_LIST_PAGES} pages`, async () => {
    const { ps, requests } = pagedBy((page) =>
      pageFixture({ current_page: page, next_page: page + 1, data: [roleFixture({ id: `r-${page}`, password: "" })] }),
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
