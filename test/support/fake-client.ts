// A client on the in-memory fake, for tests of what a call does with the fake's answers and faults.
import { type ClientOptions, createClient, type PlanetScaleClient } from "../../src/index.ts";
import { createFakePlanetScale, type FakePlanetScale } from "../../src/testing/index.ts";

export function clientOnFake(options: ClientOptions = {}): { fake: FakePlanetScale; ps: PlanetScaleClient } {
  const fake = createFakePlanetScale();
  const ps = createClient({ serviceToken: fake.serviceToken, baseUrl: fake.baseUrl, fetch: fake.fetch, ...options });
  return { fake, ps };
}
