// The exact words and shapes of refusals and failures that the mutation run found unproven.
import { inspect } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConnectionError, createClient, PlanetScaleError, UnexpectedResponseError } from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { json, startServer, type TestServer } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
const TOKEN = "pscale_tkn_Words-Secret-3";
let server: TestServer;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());

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

describe("a transport failure's cause", () => {
  const failing =
    (thrown: Error): typeof fetch =>
    async () => {
      throw thrown;
    };

  it("is the error fetch threw, when it holds no credential", async () => {
    const thrown = new TypeError("fetch failed", { cause: new Error("socket hang up") });
    const ps = createClient({
      serviceToken: `svc:${TOKEN}`,
      baseUrl: server.url,
      fetch: failing(thrown),
      maxRetries: 0,
    });
    const error = await failure(ps.getRole(ROLE));
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.cause).toBe(thrown);
  });

  it("is masked when only the bare token appears, deep in its causes", async () => {
    const thrown = new TypeError("fetch failed", { cause: new Error("proxy said", { cause: new Error(TOKEN) }) });
    const ps = createClient({
      serviceToken: `svc:${TOKEN}`,
      baseUrl: server.url,
      fetch: failing(thrown),
      maxRetries: 0,
    });
    const error = await failure(ps.getRole(ROLE));
    expect(error.cause).not.toBe(thrown);
    expect(inspect(error, { depth: 10 })).not.toContain(TOKEN);
  });
});
