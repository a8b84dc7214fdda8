// npm run bench:overhead — per-call cost of createRole against a bare openapi-fetch POST and a raw
// fetch, all against one local keep-alive server, in interleaved rounds so that machine noise hits
// every variant alike. Prints the median per-call time and the ratios.
import { spawn } from "node:child_process";
import createFetchClient from "openapi-fetch";
import type { paths } from "../src/generated/openapi.ts";
import { createClient } from "../src/index.ts";
import { roleFixture } from "../test/support/fixtures.ts";
import { createRoleCalls, headers, params, payload, where } from "./lib/variants.ts";

// Short batches, many rounds, variants taking turns: drift on a noisy machine hits all of them.
const CALLS = Number(process.env.CALLS ?? 50);
const ROUNDS = Number(process.env.ROUNDS ?? 60);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 1);
// The server runs in its own process, so that its work and garbage do not land in the client's timings.
const SERVER = `
const http = require("node:http");
const body = process.argv[1];
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
`;
const child = spawn(process.execPath, ["-e", SERVER, JSON.stringify(roleFixture())], {
  stdio: ["ignore", "pipe", "inherit"],
});
const port = await new Promise<string>((resolve) =>
  child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim())),
);
const baseUrl = `http://127.0.0.1:${port}`;

// The same client without its rate-limit gate: what the gate costs when no 429 is seen.
const ungated = createClient({
  serviceToken: "id:token",
  baseUrl,
  rateLimiter: false,
  maxConcurrency: Number.POSITIVE_INFINITY,
});
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
  ...createRoleCalls(baseUrl),
  "createRole, gate off": () => ungated.createRole(params),
  // The baseline again, on a client of its own: how far apart two identical calls measure here, so
  // that a ratio within that much of 1 says nothing.
  "same baseline, again": createRoleCalls(baseUrl)["openapi-fetch + deadline"] as () => Promise<unknown>,
};

const perCall: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
for (const call of Object.values(variants)) for (let i = 0; i < 50; i++) await call(); // warm up
const names = Object.keys(variants);
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order each round so no variant always runs first after another's garbage.
  for (const name of [...names.slice(round % names.length), ...names.slice(0, round % names.length)]) {
    const call = variants[name] as () => Promise<unknown>;
    const started = performance.now();
    // IN_FLIGHT calls at a time (default 1, one after another): with more, the client's CPU, not
    // the round trip, bounds how many calls a second it makes.
    await Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        for (let i = 0; i < CALLS; i++) await call();
      }),
    );
    perCall[name]?.push(((performance.now() - started) / (CALLS * IN_FLIGHT)) * 1000);
  }
}
child.kill();
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const quartiles = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return [sorted[Math.floor(sorted.length / 4)], sorted[Math.floor((3 * sorted.length) / 4)]] as [number, number];
};
// Each round's time over the baseline's in the same round: drift on a noisy machine (another process
// starting, the CPU's clock) moves both alike, so the ratio of a pair is steadier than that of two
// medians taken over the whole run.
const BASELINE = "openapi-fetch + deadline";
const baseline = perCall[BASELINE] ?? [];
const paired = (name: string) => (perCall[name] ?? []).map((us, round) => us / (baseline[round] as number));
console.log(`${CALLS} calls x ${IN_FLIGHT} in flight x ${ROUNDS} interleaved rounds, median per call`);
console.log(`${"".padEnd(30)}${"µs".padStart(8)}   time against ${BASELINE}, per round: median [quartiles]`);
for (const name of Object.keys(perCall)) {
  const ratios = paired(name);
  const [low, high] = quartiles(ratios);
  console.log(
    `${name.padEnd(30)}${median(perCall[name] ?? [])
      .toFixed(1)
      .padStart(
        8,
      )}   ${median(ratios).toFixed(3)}x [${low.toFixed(3)}–${high.toFixed(3)}]   throughput ${(1 / median(ratios)).toFixed(3)}x`,
  );
}
// Throughput is the inverse: createRole's throughput relative to the baseline is 1 / its time ratio.
const noise = Math.abs(median(paired("same baseline, again")) - 1);
console.log(
  `the same baseline on a second client measured ${(100 * noise).toFixed(1)}% off: ratios within that of 1 are noise`,
);
