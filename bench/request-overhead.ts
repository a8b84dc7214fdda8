// npm run bench:overhead — per-call cost of createRole against a bare openapi-fetch POST and a raw
// fetch, all against one local keep-alive server, in interleaved rounds so that machine noise hits
// every variant alike. Prints the median per-call time and the ratios.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import createFetchClient from "openapi-fetch";
import type { paths } from "../src/generated/openapi.ts";
import { createClient } from "../src/index.ts";
import { roleFixture } from "../test/support/fixtures.ts";

const CALLS = Number(process.env.CALLS ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 7);
const body = JSON.stringify(roleFixture());
const server = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const where = { organization: "acme", database: "app-db", branch: "main" };
const payload = { name: "bench", ttl: 3600, inherited_roles: ["pg_read_all_data" as const] };
const headers = { Authorization: "id:token", Accept: "application/json", "Content-Type": "application/json" };

const ps = createClient({ serviceToken: "id:token", baseUrl });
const bare = createFetchClient<paths>({ baseUrl, headers });
const variants: Record<string, () => Promise<unknown>> = {
  "raw fetch": async () => {
    const res = await fetch(`${baseUrl}/organizations/acme/databases/app-db/branches/main/roles`, {
      method: "POST",
      headers,
      body: JSON.stringify(payload),
    });
    return res.json();
  },
  "bare openapi-fetch": () =>
    bare.POST("/organizations/{organization}/databases/{database}/branches/{branch}/roles", {
      params: { path: where },
      body: payload,
    }),
  "planetscale-roles createRole": () => ps.createRole({ ...where, ...payload }),
};

const perCall: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
for (const call of Object.values(variants)) for (let i = 0; i < 50; i++) await call(); // warm up
for (let round = 0; round < ROUNDS; round++) {
  for (const [name, call] of Object.entries(variants)) {
    const started = performance.now();
    for (let i = 0; i < CALLS; i++) await call();
    perCall[name]?.push(((performance.now() - started) / CALLS) * 1000);
  }
}
server.close();
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const fetchUs = median(perCall["raw fetch"] ?? []);
const bareUs = median(perCall["bare openapi-fetch"] ?? []);
console.log(`${CALLS} sequential calls x ${ROUNDS} interleaved rounds, median per call`);
for (const [name, values] of Object.entries(perCall)) {
  const us = median(values);
  console.log(
    `${name.padEnd(30)}${us.toFixed(1).padStart(8)} µs   ${(us / bareUs).toFixed(3)}x openapi-fetch   ${(us / fetchUs).toFixed(3)}x fetch`,
  );
}
