import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, InvalidRequestError, UnexpectedResponseError } from "../src/index.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { json, redirect, startServer, type TestServer } from "./support/servers.ts";

let server: TestServer;
let elsewhere: TestServer;
beforeAll(async () => {
  server = await startServer(json(200, roleFixture()));
  elsewhere = await startServer(json(200, roleFixture()));
});
afterAll(async () => {
  await server.close();
  await elsewhere.close();
});

describe("transport", () => {
  it.each(["http://api.planetscale.com/v1", "http://10.0.0.5:8080", "ftp://localhost/"])(
    "refuses %s before any request",
    (baseUrl) => {
      let calls = 0;
      const spy: typeof fetch = async () => {
        calls++;
        return new Response("{}");
      };
      expect(() => createClient({ serviceToken: "a:b", baseUrl, fetch: spy })).toThrow(InvalidRequestError);
      expect(() => createClient({ serviceToken: "a:b", baseUrl, fetch: spy })).toThrow(/baseUrl/);
      expect(calls).toBe(0);
    },
  );

  it("allows plain http to loopback only", () => {
    for (const baseUrl of ["http://localhost:4010", "http://127.0.0.1:4010", "http://[::1]:4010"]) {
      expect(() => createClient({ serviceToken: "a:b", baseUrl })).not.toThrow();
    }
  });

  it("checks every request, so the raw client cannot send a token over plain http either", async () => {
    const ps = createClient({ serviceToken: "a:b", baseUrl: server.url });
    const before = server.requests.length;
    await expect(
      ps.raw.GET("/organizations/{organization}/databases/{database}/branches/{branch}/roles", {
        params: { path: BRANCH },
        baseUrl: "http://example.com/v1",
      }),
    ).rejects.toBeInstanceOf(InvalidRequestError);
    expect(server.requests.length).toBe(before);
  });

  it.each([301, 302, 307, 308])(
    "does not follow a %i: names where it pointed, the target sees nothing",
    async (status) => {
      const target = `${elsewhere.url}/stolen`;
      server.next(redirect(status, target));
      const error = await createClient({ serviceToken: "a:b", baseUrl: server.url })
        .createRole(BRANCH)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect((error as Error).message).toContain(target);
      expect(elsewhere.requests).toHaveLength(0);
    },
  );
});

describe("the caller's fetch", () => {
  it("is called as a plain function, as workerd's fetch demands (no `this` but the global one)", async () => {
    const calls: unknown[] = [];
    // As workerd's fetch: any `this` other than the global scope is an "Illegal invocation".
    const strictFetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
      if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
      calls.push(input);
      return fetch(input, init);
    } as typeof fetch;
    const ps = createClient({ serviceToken: "id:secret", baseUrl: server.url, fetch: strictFetch, maxRetries: 0 });
    await expect(ps.createRole({ ...BRANCH, name: "ci" })).resolves.toMatchObject({ name: "ci-reader" });
    await expect(
      ps.raw.GET("/organizations/{organization}/databases/{database}/branches/{branch}/roles/default", {
        params: { path: BRANCH },
      }),
    ).resolves.toBeDefined();
    expect(calls).toHaveLength(2);
  });
});
