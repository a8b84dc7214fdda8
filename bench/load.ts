// npm run bench:load — 500 concurrent createRole calls from one client with default options,
// against a token bucket shaped like PlanetScale's limit scaled in time (a burst, then a steady
// refill; 429 with Retry-After in whole seconds). Prints the wall time against the ideal the bucket
// allows ((calls - burst) / refill), the share of 429 answers, failures and duplicate creates.
// BURST and REFILL (per second) choose the bucket; GATE=off runs the same with the gate turned off.
import { createClient } from "../src/index.ts";
import { BRANCH } from "../test/support/fixtures.ts";
import { startRateLimitedServer } from "../test/support/rate-limited-server.ts";

const CALLS = Number(process.env.CALLS ?? 500);
const BURST = Number(process.env.BURST ?? 20);
const REFILL = Number(process.env.REFILL ?? 100);
const gateOff = process.env.GATE === "off";

const server = await startRateLimitedServer(BURST, REFILL);
try {
  const ps = createClient({
    serviceToken: "a:b",
    baseUrl: server.url,
    ...(gateOff ? { rateLimiter: false as const, maxConcurrency: Number.POSITIVE_INFINITY } : {}),
  });
  const started = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: CALLS }, (_, i) => ps.createRole({ ...BRANCH, name: `load-${i}` })),
  );
  const wallMs = performance.now() - started;
  const idealMs = (Math.max(0, CALLS - BURST) / REFILL) * 1000;
  const failures = results.filter((r) => r.status === "rejected").length;
  const duplicates = server.created.length - new Set(server.created).size;
  const requests = server.created.length + server.limited;
  console.log(
    `${CALLS} creates, one client, default options${gateOff ? ", gate off" : ""}; bucket ${BURST} + ${REFILL}/s`,
  );
  console.log(`wall ${wallMs.toFixed(0)} ms, ideal ${idealMs.toFixed(0)} ms, ratio ${(wallMs / idealMs).toFixed(2)}x`);
  console.log(
    `429 answers ${server.limited} of ${requests} requests (${((100 * server.limited) / requests).toFixed(1)}%), failures ${failures}, duplicate creates ${duplicates}`,
  );
} finally {
  await server.close();
}
