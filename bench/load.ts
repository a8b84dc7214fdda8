// npm run bench:load — 500 concurrent createRole calls against a token-bucket rate limiter on
// loopback. Prints the wall time against the ideal time the limit allows (measured in this run's
// terms: (calls - capacity) / refill rate), and how many 429s the retries absorbed.
import { createClient } from "../src/index.ts";
import { BRANCH } from "../test/support/fixtures.ts";
import { startRateLimitedServer } from "../test/support/rate-limited-server.ts";

const CALLS = Number(process.env.CALLS ?? 500);
const CAPACITY = 100;
const REFILL = 250;

const server = await startRateLimitedServer(CAPACITY, REFILL);
try {
  const ps = createClient({ serviceToken: "a:b", baseUrl: server.url, maxRetries: 30 });
  const started = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: CALLS }, (_, i) => ps.createRole({ ...BRANCH, name: `load-${i}` })),
  );
  const wallMs = performance.now() - started;
  const idealMs = (Math.max(0, CALLS - CAPACITY) / REFILL) * 1000;
  const failures = results.filter((r) => r.status === "rejected").length;
  const duplicates = server.created.length - new Set(server.created).size;
  console.log(`calls ${CALLS}, bucket ${CAPACITY} + ${REFILL}/s`);
  console.log(`wall ${wallMs.toFixed(0)} ms, ideal ${idealMs.toFixed(0)} ms, ratio ${(wallMs / idealMs).toFixed(2)}x`);
  console.log(`429 answers ${server.limited}, failures ${failures}, duplicate creates ${duplicates}`);
} finally {
  await server.close();
}
