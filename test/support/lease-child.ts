// Run as a child process by lease-process.test.ts, on the real clock: one lease closed, one left
// open with renewal and rotation due in minutes. The process must then exit on its own: no wait of
// a lease keeps it alive.
import { createClient } from "../../src/index.ts";
import { createFakePlanetScale } from "../../src/testing/index.ts";

const fake = createFakePlanetScale();
const ps = createClient({ serviceToken: fake.serviceToken, baseUrl: fake.baseUrl, fetch: fake.fetch });
const params = { organization: "acme", database: "app-db", branch: "main", name: "api", ttl: 600 };
const closed = await ps.leaseRole(params, { rotateAfterMs: 15 * 60_000 });
await closed.close();
await ps.leaseRole(params, { rotateAfterMs: 15 * 60_000 });
console.log(`roles alive: ${fake.roles().length}`);
