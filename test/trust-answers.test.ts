// What the client tells its rate limiter about each answer, which 2xx answers it cannot use, and the
// exact words with which it refuses request headers.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createClient, type RateLimiter, UnexpectedResponseError } from "../src/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { json, startServer, type TestServer } from "./support/servers.ts";

const ROLE = { ...BRANCH, id: "role-1" };
let server: TestServer;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
});
afterAll(() => server.close());
beforeEach(() => server.reset());

describe("the rate limiter hears", () => {
  it("of every answer but a 429 as accepted, and of each 429 with its wait", async () => {
    const heard: string[] = [];
    const limiter: RateLimiter = {
      acquire: () => undefined,
      limited: (ms) => heard.push(`limited ${ms}`),
      accepted: () => heard.push("accepted"),
    };
    const ps = createClient({
      serviceToken: "id:secret",
      baseUrl: server.url,
      rateLimiter: limiter,
      maxRetries: 3,
      backoff: { baseMs: 5, maxMs: 5 },
    });
    server.next(
      json(503, { code: "unavailable", message: "busy" }),
      json(429, { code: "too_many_requests", message: "slow down" }, { "retry-after": "0" }),
    );
    await ps.getRole(ROLE);
    expect(heard).toEqual(["accepted", "limited 0", "accepted"]);
  });
});

describe("a create answered 2xx", () => {
  it.each([
    ["an empty password", { password: "" }, "without password"],
    ["an empty username", { username: "" }, "without username"],
    ["a username that is not a string", { username: 42 }, "without username"],
    ["neither", { username: "", password: "" }, "without username and password"],
  ])("with %s is unusable, and keeps its raw body", async (_what, overrides, says) => {
    server.next(json(200, { ...roleFixture(), ...overrides }));
    const error = await failure(createClient({ serviceToken: "id:secret", baseUrl: server.url }).createRole(BRANCH));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toContain(`create_role answered 200 ${says}.`);
    expect(JSON.parse((error as UnexpectedResponseError).body)).toMatchObject(overrides);
  });
});

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
