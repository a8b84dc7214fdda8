import { connectionString, createClient, type PlanetScaleClient, ServerError } from "planetscale-roles";
import { createFakePlanetScale, type FakePlanetScale } from "planetscale-roles/testing";
import { beforeEach, expect, it } from "vitest";

// The service under test: gives a CI job a database URL that works for one hour.
async function ciDatabaseUrl(ps: PlanetScaleClient, job: string): Promise<string> {
  const role = await ps.createRole({
    organization: "acme",
    database: "app-db",
    branch: "main",
    name: `ci-${job}`,
    ttl: 3600,
    inherited_roles: ["pg_read_all_data"],
  });
  return connectionString(role);
}

let fake: FakePlanetScale;
let ps: PlanetScaleClient;
beforeEach(() => {
  fake = createFakePlanetScale();
  ps = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken, maxRetries: 0 });
});

it("hands out a URL with the new role's one-time credentials", async () => {
  const url = new URL(await ciDatabaseUrl(ps, "1234"));
  const [role] = fake.roles();
  expect(role?.name).toBe("ci-1234");
  expect(decodeURIComponent(url.username)).toBe(role?.username);
  expect(decodeURIComponent(url.password)).toBe(role?.password);
  expect(fake.requests[0]?.body).toMatchObject({ ttl: 3600, inherited_roles: ["pg_read_all_data"] });
});

it("passes a PlanetScale outage on as a ServerError, and leaves no role behind", async () => {
  fake.failNext("create_role", { status: 503 });
  await expect(ciDatabaseUrl(ps, "1235")).rejects.toBeInstanceOf(ServerError);
  expect(fake.roles()).toEqual([]);
});
