// planetscale-roles/testing, driven through the client as a service would: state, passwords,
// pages, errors, the requests it keeps, and each fault failNext can inject.
import { describe, expect, it } from "vitest";
import {
  AbortError,
  AuthenticationError,
  type ClientOptions,
  ConnectionError,
  createClient,
  type ListRolesParams,
  NotFoundError,
  type PlanetScaleClient,
  PlanetScaleError,
  RateLimitError,
  ServerError,
} from "../src/index.ts";
import { createFakePlanetScale, type FakePlanetScale, type FakePlanetScaleOptions } from "../src/testing/index.ts";
import { BRANCH } from "./support/fixtures.ts";

function setup(options?: FakePlanetScaleOptions, clientOptions: ClientOptions = {}) {
  const fake = createFakePlanetScale(options);
  const ps = createClient({
    fetch: fake.fetch,
    baseUrl: fake.baseUrl,
    serviceToken: fake.serviceToken,
    ...clientOptions,
  });
  return { fake, ps };
}

async function createSome(ps: PlanetScaleClient, names: string[]) {
  const created = [];
  for (const name of names) created.push(await ps.createRole({ ...BRANCH, name }));
  return created;
}

describe("roles and their passwords", () => {
  it("creates a role named <name>.<random> whose password only the create answer and roles() show", async () => {
    const { fake, ps } = setup();
    const role = await ps.createRole({
      ...BRANCH,
      name: "ci-reader",
      ttl: 3600,
      inherited_roles: ["pg_read_all_data"],
    });
    expect(role.username).toMatch(/^ci-reader\.[a-z0-9]{12}$/);
    expect(role.password).toMatch(/^pscale_pw_\w{20,}$/);
    expect(role).toMatchObject({ name: "ci-reader", ttl: 3600, inherited_roles: ["pg_read_all_data"], default: false });
    expect(fake.roles()).toEqual([expect.objectContaining({ id: role.id, password: role.password })]);
    expect((await ps.getRole({ ...BRANCH, id: role.id })).password).toBe("");
    expect((await ps.listRoles(BRANCH)).data.map((listed) => listed.password)).toEqual([""]);
  });

  it("gives every role its own id, username and password", async () => {
    const { ps } = setup();
    const [a, b] = await createSome(ps, ["same", "same"]);
    expect(a?.id).not.toBe(b?.id);
    expect(a?.username).not.toBe(b?.username);
    expect(a?.password).not.toBe(b?.password);
  });

  it("resetRole answers a new password, which roles() then holds; get still shows none", async () => {
    const { fake, ps } = setup();
    const role = await ps.createRole({ ...BRANCH, name: "app" });
    const reset = await ps.resetRole({ ...BRANCH, id: role.id });
    expect(reset.password).not.toBe(role.password);
    expect(reset.username).toBe(role.username);
    expect(fake.roles()[0]?.password).toBe(reset.password);
    expect((await ps.getRole({ ...BRANCH, id: role.id })).password).toBe("");
  });

  it("keeps branches apart, and roles(where) picks one", async () => {
    const { fake, ps } = setup();
    await ps.createRole({ ...BRANCH, name: "on-main" });
    await ps.createRole({ ...BRANCH, branch: "dev", name: "on-dev" });
    expect((await ps.listRoles(BRANCH)).data.map((role) => role.name)).toEqual(["on-main"]);
    expect(fake.roles({ branch: "dev" }).map((role) => role.name)).toEqual(["on-dev"]);
    expect(fake.roles().map((role) => role.name)).toEqual(["on-main", "on-dev"]);
    await expect(ps.getRole({ ...BRANCH, branch: "dev", id: fake.roles()[0]?.id as string })).rejects.toThrow(
      NotFoundError,
    );
  });

  it("roles() hands out copies: changing them changes nothing in the fake", async () => {
    const { fake, ps } = setup();
    const role = await ps.createRole({ ...BRANCH, name: "app" });
    (fake.roles()[0] as { name: string }).name = "changed";
    expect((await ps.getRole({ ...BRANCH, id: role.id })).name).toBe("app");
  });
});

describe("pages", () => {
  it("listAllRoles follows next_page across several pages and stops at next_page null", async () => {
    const { fake, ps } = setup();
    const names = ["r1", "r2", "r3", "r4", "r5", "r6", "r7"];
    await createSome(ps, names);
    const seen = [];
    for await (const role of ps.listAllRoles({ ...BRANCH, per_page: 3 })) seen.push(role.name);
    expect(seen).toEqual(names);
    const pagesAsked = fake.requests.filter((request) => request.operation === "list_roles").map((r) => r.query.page);
    expect(pagesAsked).toEqual(["1", "2", "3"]);
  });

  it("a page carries its numbers and links; the last has next_page null", async () => {
    const { ps } = setup();
    await createSome(ps, ["r1", "r2", "r3", "r4", "r5"]);
    const first = await ps.listRoles({ ...BRANCH, per_page: 2 });
    expect(first).toMatchObject({ type: "list", current_page: 1, per_page: 2, next_page: 2, prev_page: null });
    expect(first).toMatchObject({ prev_page_url: null, total_count: 5, total_pages: 3 });
    expect(new URL(first.next_page_url as string).searchParams.get("page")).toBe("2");
    const last = await ps.listRoles({ ...BRANCH, per_page: 2, page: 3 });
    expect(last).toMatchObject({ current_page: 3, next_page: null, next_page_url: null, prev_page: 2 });
    expect(last.data.map((role) => role.name)).toEqual(["r5"]);
    expect(new URL(last.prev_page_url as string).searchParams.get("page")).toBe("2");
    const past = await ps.listRoles({ ...BRANCH, per_page: 2, page: 7 });
    expect(past).toMatchObject({ data: [], next_page: null, total_count: 5 });
  });

  it("defaults to page 1 of 25, and an empty branch is one last page", async () => {
    const { ps } = setup();
    const empty = await ps.listRoles(BRANCH);
    expect(empty).toMatchObject({ current_page: 1, per_page: 25, next_page: null, total_count: 0, data: [] });
  });

  it("q searches names and usernames; status picks active, renewable, disabled or expired roles", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const { ps } = setup({ now: () => now });
    const [short] = await createSome(ps, ["ci-short"]);
    await ps.createRole({ ...BRANCH, name: "app-long", ttl: 86_400 });
    await ps.updateRole({ ...BRANCH, id: short?.id as string }); // no change: still no ttl
    await ps.createRole({ ...BRANCH, name: "ci-brief", ttl: 60 });
    now = new Date("2026-01-01T00:05:00Z");
    const names = async (params: Pick<ListRolesParams, "q" | "status">) =>
      (await ps.listRoles({ ...BRANCH, ...params })).data.map((role) => role.name);
    expect(await names({ q: "CI-" })).toEqual(["ci-short", "ci-brief"]);
    expect(await names({ q: short?.username.split(".")[1] as string })).toEqual(["ci-short"]);
    expect(await names({ status: "expired" })).toEqual(["ci-brief"]);
    expect(await names({ status: "active" })).toEqual(["ci-short", "app-long"]);
    // Renewable: active with a ttl to renew; disabled: none here.
    expect(await names({ status: "renewable" })).toEqual(["app-long"]);
    expect(await names({ status: "disabled" })).toEqual([]);
  });
});

describe("the other operations", () => {
  it("updateRole renames (the username follows, its suffix kept) and sets query safety", async () => {
    const { ps } = setup();
    const role = await ps.createRole({ ...BRANCH, name: "old" });
    const updated = await ps.updateRole({ ...BRANCH, id: role.id, name: "new", require_where_on_delete: "on" });
    expect(updated.name).toBe("new");
    expect(updated.username).toBe(`new.${role.username.split(".")[1]}`);
    expect(updated.base_username).toBe("new");
    expect(updated.query_safety_settings).toEqual({ require_where_on_delete: "on", require_where_on_update: "off" });
    expect(updated.password).toBe("");
  });

  it("renewRole moves expires_at to ttl from now and clears expired", async () => {
    let now = new Date("2026-01-01T00:00:00Z");
    const { ps } = setup({ now: () => now });
    const role = await ps.createRole({ ...BRANCH, name: "brief", ttl: 60 });
    expect(role.expires_at).toBe("2026-01-01T00:01:00.000Z");
    now = new Date("2026-01-01T01:00:00Z");
    expect((await ps.getRole({ ...BRANCH, id: role.id })).expired).toBe(true);
    const renewed = await ps.renewRole({ ...BRANCH, id: role.id });
    expect(renewed).toMatchObject({ expires_at: "2026-01-01T01:01:00.000Z", expired: false, password: "" });
  });

  it("deleteRole removes the role, with or without a successor; the successor reaches the server", async () => {
    const { fake, ps } = setup();
    const [a, b] = await createSome(ps, ["a", "b"]);
    await ps.deleteRole({ ...BRANCH, id: a?.id as string, successor: "b" });
    await ps.deleteRole({ ...BRANCH, id: b?.id as string });
    expect(fake.roles()).toEqual([]);
    expect(fake.requests.filter((r) => r.operation === "delete_role").map((r) => r.query)).toEqual([
      { successor: "b" },
      {},
    ]);
  });

  it("reassignRoleObjects answers 204 for a known role and sends the successor", async () => {
    const { fake, ps } = setup();
    const role = await ps.createRole({ ...BRANCH, name: "leaving" });
    await expect(ps.reassignRoleObjects({ ...BRANCH, id: role.id, successor: "app" })).resolves.toBeUndefined();
    expect(fake.requests.at(-1)).toMatchObject({ method: "POST", body: { successor: "app" } });
  });

  it("the default role: get shows no password, reset answers a new one each time", async () => {
    const { fake, ps } = setup();
    const defaultRole = await ps.getDefaultRole(BRANCH);
    expect(defaultRole).toMatchObject({ name: "postgres", default: true, password: "" });
    const first = await ps.resetDefaultRole(BRANCH);
    const second = await ps.resetDefaultRole(BRANCH);
    expect(first.username).toBe(defaultRole.username);
    expect(second.password).not.toBe(first.password);
    expect(fake.roles()).toEqual([]);
  });

  it.each([
    ["getRole", (ps: PlanetScaleClient) => ps.getRole({ ...BRANCH, id: "nope" })],
    ["updateRole", (ps: PlanetScaleClient) => ps.updateRole({ ...BRANCH, id: "nope", name: "x" })],
    ["deleteRole", (ps: PlanetScaleClient) => ps.deleteRole({ ...BRANCH, id: "nope" })],
    ["renewRole", (ps: PlanetScaleClient) => ps.renewRole({ ...BRANCH, id: "nope" })],
    ["resetRole", (ps: PlanetScaleClient) => ps.resetRole({ ...BRANCH, id: "nope" })],
    [
      "reassignRoleObjects",
      (ps: PlanetScaleClient) => ps.reassignRoleObjects({ ...BRANCH, id: "nope", successor: "a" }),
    ],
  ])("%s of an unknown id is 404 not_found", async (_name, call) => {
    const { ps } = setup();
    const error = await call(ps).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ status: 404, code: "not_found" });
  });
});

describe("credentials and input", () => {
  it("answers 401 unauthorized to any other token, and changes nothing", async () => {
    const { fake } = setup();
    const stranger = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: "someone:else" });
    const error = await stranger.createRole({ ...BRANCH, name: "x" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: "unauthorized" });
    expect(fake.roles()).toEqual([]);
  });

  it("takes the serviceToken it was given, and an accessToken as Bearer", async () => {
    const fake = createFakePlanetScale({ serviceToken: { id: "svc", token: "tok" }, accessToken: "oauth" });
    const viaOauth = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, accessToken: "oauth" });
    const role = await viaOauth.createRole({ ...BRANCH, name: "x" });
    expect(role.actor.id).toBe("oauth-user");
    const viaToken = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: "svc:tok" });
    expect((await viaToken.createRole({ ...BRANCH, name: "y" })).actor.id).toBe("svc");
  });

  it.each([
    [{ serviceToken: "id:token" }, /serviceToken.id must be a string with no ':'/],
    [{ serviceToken: { id: "a:b", token: "t" } }, /serviceToken.id must be a string with no ':'/],
    [{ serviceToken: { id: "a", token: "" } }, /serviceToken.token must be a non-empty string/],
    [{ accessToken: 42 }, /accessToken must be a non-empty string; got 42/],
    [{ baseUrl: "api.planetscale.com" }, /baseUrl must be an absolute URL/],
    [{ now: "2026-01-01" }, /now must be a function returning a Date/],
  ])("refuses the option %j with a message naming it", (options, message) => {
    expect(() => createFakePlanetScale(options as never)).toThrow(message);
  });

  it("keeps every request without the credentials", async () => {
    const { fake, ps } = setup();
    await ps.createRole({ ...BRANCH, name: "ci", ttl: 60 });
    await ps.listRoles({ ...BRANCH, q: "ci" });
    expect(fake.requests).toMatchObject([
      {
        operation: "create_role",
        method: "POST",
        path: "/organizations/acme/databases/app-db/branches/main/roles",
        query: {},
        body: { name: "ci", ttl: 60 },
      },
      { operation: "list_roles", method: "GET", query: { q: "ci" }, body: undefined },
    ]);
    const token = fake.serviceToken.token;
    for (const request of fake.requests) {
      expect(request.headers.authorization).toBeUndefined();
      expect(JSON.stringify(request)).not.toContain(token);
      expect(request.headers["user-agent"]).toMatch(/^planetscale-roles\//);
    }
  });

  it("refuses input the API refuses with 422 naming the field, and creates nothing", async () => {
    const { fake } = setup();
    const url = `${fake.baseUrl}/organizations/acme/databases/app-db/branches/main/roles`;
    const headers = { authorization: `${fake.serviceToken.id}:${fake.serviceToken.token}` };
    const bad = [{ ttl: -1 }, { ttl: "60" }, { inherited_roles: ["root"] }, { require_where_on_delete: "yes" }];
    for (const body of bad) {
      const answer = await fake.fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
      expect(answer.status).toBe(422);
      expect((await answer.json()).message).toContain(Object.keys(body)[0]);
    }
    const page = await fake.fetch(`${url}?per_page=0`, { headers });
    expect(page.status).toBe(422);
    const reassign = await fake.fetch(`${url}/abc/reassign`, { method: "POST", headers, body: "{}" });
    expect(await reassign.json()).toEqual({ code: "invalid_params", message: "successor is required" });
    expect(fake.roles()).toEqual([]);
  });

  it("fake.fetch serves only its baseUrl, and answers 404 for a path that is no Roles operation", async () => {
    const { fake } = setup();
    await expect(fake.fetch("https://api.planetscale.com/v1/organizations")).rejects.toThrow(/serves only/);
    const headers = { authorization: `${fake.serviceToken.id}:${fake.serviceToken.token}` };
    const answer = await fake.fetch(`${fake.baseUrl}/organizations/acme`, { headers });
    expect(answer.status).toBe(404);
    expect((await answer.json()).code).toBe("not_found");
  });
});

describe("failNext", () => {
  it("answers the next call of that operation with the status and { code, message }, doing nothing", async () => {
    const { fake, ps } = setup(undefined, { maxRetries: 0 });
    fake.failNext("create_role", { status: 503, code: "unavailable", message: "maintenance" });
    const error = await ps.createRole({ ...BRANCH, name: "x" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ServerError);
    expect(error).toMatchObject({ status: 503, code: "unavailable", apiMessage: "maintenance" });
    expect(fake.roles()).toEqual([]);
    await ps.createRole({ ...BRANCH, name: "x" });
    expect(fake.roles()).toHaveLength(1);
  });

  it("queues faults per operation, in order, so the client's retries meet them", async () => {
    const { fake, ps } = setup(undefined, { maxRetries: 2, backoff: { baseMs: 1, maxMs: 1 } });
    const role = await ps.createRole({ ...BRANCH, name: "x" });
    fake.failNext("get_role", { status: 500 });
    fake.failNext("get_role", { status: 502 });
    fake.failNext("list_roles", { status: 404 });
    const got = await ps.getRole({ ...BRANCH, id: role.id });
    expect(got.id).toBe(role.id);
    expect(fake.requests.filter((r) => r.operation === "get_role")).toHaveLength(3);
    await expect(ps.listRoles(BRANCH)).rejects.toThrow(NotFoundError);
  });

  it("a connection reset comes after the server acted: fetch fails as undici does, and the role exists", async () => {
    const { fake, ps } = setup();
    fake.failNext("create_role", { connectionReset: true });
    const error = await ps.createRole({ ...BRANCH, name: "lost" }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ requestSent: true, outcomeUnknown: true });
    expect(fake.roles().map((role) => role.name)).toEqual(["lost"]);
    fake.failNext("list_roles", { connectionReset: true });
    const raw = await fake
      .fetch(`${fake.baseUrl}/organizations/a/databases/b/branches/c/roles`, {
        headers: { authorization: `${fake.serviceToken.id}:${fake.serviceToken.token}` },
      })
      .catch((caught: unknown) => caught);
    expect(raw).toBeInstanceOf(TypeError);
    expect(raw).toMatchObject({ message: "fetch failed", cause: { code: "ECONNRESET" } });
  });

  it("a delay holds the answer, and the request's AbortSignal ends it with nothing done", async () => {
    const { fake, ps } = setup(undefined, { maxRetries: 0 });
    fake.failNext("create_role", { delayMs: 150 });
    const started = performance.now();
    await ps.createRole({ ...BRANCH, name: "slow" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    fake.failNext("create_role", { delayMs: 60_000 });
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 50);
    const aborted = performance.now();
    const error = await ps.createRole({ ...BRANCH, name: "never" }, { signal: abort.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect(performance.now() - aborted).toBeLessThan(5_000);
    expect(fake.roles().map((role) => role.name)).toEqual(["slow"]);
  });

  it("a 429 carries Retry-After, which the client honours before trying again", async () => {
    const { fake, ps } = setup(undefined, { maxRetries: 0 });
    fake.failNext("list_roles", { retryAfter: 7 });
    const error = await ps.listRoles(BRANCH).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RateLimitError);
    expect(error).toMatchObject({ status: 429, code: "too_many_requests", retryAfterMs: 7000 });
    const patient = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
    fake.failNext("list_roles", { retryAfter: 0 });
    await expect(patient.listRoles(BRANCH)).resolves.toMatchObject({ total_count: 0 });
  });

  it.each([
    ["no_such_op", { status: 500 }, /operation must be one of .*create_role/],
    ["create_role", { status: 200 }, /status must be an integer from 400 to 599/],
    ["create_role", { delayMs: -1 }, /delayMs must be a number of 0 or more/],
    ["create_role", { retryAfter: 1.5 }, /retryAfter must be a whole number/],
    [
      "create_role",
      { retryAfter: "5\r\nSet-Cookie: session=forged" },
      "failNext: fault retryAfter must be a whole number of seconds of 0 or more, or a header value of printable ASCII (an HTTP date, say); got ",
    ],
    ["create_role", { retryAfter: "5\u0000" }, /retryAfter must be .* printable ASCII/],
    ["create_role", { retryAfter: "in 5 s\u2028" }, /retryAfter must be .* printable ASCII/],
    ["create_role", { explode: true }, /must be one of \{ status \}/],
  ])("refuses %s %j with a message naming what is wrong", (operation, fault, message) => {
    const { fake } = setup();
    expect(() => (fake as FakePlanetScale).failNext(operation as never, fault as never)).toThrow(message);
  });

  it("a Retry-After that is no date or number (a server's oddity) is answered as given", async () => {
    const { fake } = setup();
    fake.failNext("list_roles", { retryAfter: "Sun, 29 Nov 2026 10:00:00 GMT" });
    fake.failNext("list_roles", { retryAfter: "soon, maybe" });
    const url = `${fake.baseUrl}/organizations/acme/databases/app-db/branches/main/roles`;
    const headers = { authorization: `${fake.serviceToken.id}:${fake.serviceToken.token}` };
    const answers = [await fake.fetch(url, { headers }), await fake.fetch(url, { headers })];
    expect(answers.map((answer) => [answer.status, answer.headers.get("retry-after")])).toEqual([
      [429, "Sun, 29 Nov 2026 10:00:00 GMT"],
      [429, "soon, maybe"],
    ]);
  });

  it("an error the fake answers is a PlanetScaleError with the request id the API would give", async () => {
    const { fake, ps } = setup(undefined, { maxRetries: 0 });
    fake.failNext("get_default_role", { status: 403 });
    const error = await ps.getDefaultRole(BRANCH).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PlanetScaleError);
    expect((error as PlanetScaleError).requestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
