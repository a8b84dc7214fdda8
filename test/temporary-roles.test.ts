// createTemporaryRole: a role that never outlives its use for long, whatever happens to the process.
import { describe, expect, it } from "vitest";
import { AbortError, createClient, InvalidRequestError } from "../src/index.ts";
import { TEMPORARY_ROLE_TTL } from "../src/roles.ts";
import { createFakePlanetScale } from "../src/testing/index.ts";
import { failure } from "./support/failure.ts";
import { BRANCH } from "./support/fixtures.ts";

function onFake() {
  const fake = createFakePlanetScale();
  const ps = createClient({ serviceToken: fake.serviceToken, baseUrl: fake.baseUrl, fetch: fake.fetch });
  return { fake, ps };
}

describe("a temporary role's ttl", () => {
  it(`is ${TEMPORARY_ROLE_TTL} s when none is given, so a killed process leaves a role that expires`, async () => {
    const { fake, ps } = onFake();
    const ttl = await ps.createTemporaryRole({ ...BRANCH, name: "tmp" }, (role) => role.ttl);
    expect(ttl).toBe(TEMPORARY_ROLE_TTL);
    expect(fake.requests[0]?.body).toMatchObject({ name: "tmp", ttl: TEMPORARY_ROLE_TTL });
  });

  it("is the caller's when given", async () => {
    const { ps } = onFake();
    expect(await ps.createTemporaryRole({ ...BRANCH, name: "tmp", ttl: 90 }, (role) => role.ttl)).toBe(90);
  });

  it("of 0 (never expires) is refused before anything is sent", async () => {
    const { fake, ps } = onFake();
    const error = await failure(ps.createTemporaryRole({ ...BRANCH, name: "tmp", ttl: 0 }, () => "never"));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(error).toMatchObject({ field: "ttl", operation: "create_role" });
    expect(error.message).toContain("a positive number of seconds for a temporary role");
    expect(fake.requests).toEqual([]);
  });
});

describe("the caller's signal", () => {
  it("ends the wait for a callback that hangs, and the role is deleted", async () => {
    const { fake, ps } = onFake();
    const controller = new AbortController();
    const error = await failure(
      ps.createTemporaryRole(
        { ...BRANCH, name: "tmp" },
        () => {
          setTimeout(() => controller.abort(), 0);
          return new Promise<never>(() => {});
        },
        { signal: controller.signal },
      ),
    );
    expect(error).toBeInstanceOf(AbortError);
    expect(error.message).toBe("create_role: createTemporaryRole was aborted while its callback ran");
    expect(fake.roles(BRANCH)).toEqual([]);
    expect(fake.requests.map((request) => request.operation)).toEqual(["create_role", "delete_role"]);
  });
});
