// planetscale-roles/testing: a stateful, in-memory PlanetScale Roles API for the tests of services
// that use this package. No network, no server to install; answers follow the package's spec.
export {
  createFakePlanetScale,
  FAKE_BASE_URL,
  type FakePlanetScale,
  type FakePlanetScaleOptions,
  type FakeRequest,
} from "./fake.ts";
export type { FakeFault } from "./faults.ts";
export type { FakeServer } from "./listen.ts";
export type { BranchScope } from "./roles-store.ts";
