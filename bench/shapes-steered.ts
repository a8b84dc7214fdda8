// npm run bench:shapes:steered — the shapes of bench:shapes, on a clock this script steers instead
// of over loopback: 500 concurrent createRole calls from clients with default options against an
// in-memory create_role behind each limiter shape, every answer `LAT` ms (plus up to `JIT` ms of
// seeded jitter) after it was sent. The same seed gives the same run to the millisecond, so a change
// to the gate's learning can be judged on the runs that go badly on a loaded machine, without the
// machine: a slow start (`SLOWMS` ms of `SLOWLAT` ms answers, as a cold process makes), a slower
// network (`LAT`), a fleet (`FLEET` clients sharing one in-memory limiter, as processes share the
// Redis one, or with `OWN=1` each its own, starting `STARTUP` ms apart in all). Prints the ratio to the ideal the shape allows and
// the 429s, for each of `SEEDS` seeds; `ONLY` picks shapes by name; `TRACE=1` prints where the time
// went. Beside issue 18's shapes, `bucket5`: a bucket of 5 + 10/s (PlanetScale's 600 a minute with a
// burst under LEARNING_SAMPLE, unscaled), with 200 creates, as 500 would outlast their deadline.
// Wall-time figures stay with bench:shapes and bench:fleet: this is the model, not the machine.

import { createRateLimiter } from "../src/gate.ts";
import { createClient } from "../src/index.ts";
import { manualClock } from "../test/support/clock.ts";
import { BRANCH } from "../test/support/fixtures.ts";
import {
  bucketIdeal,
  fixedWindow,
  limitedApi,
  type Shape,
  tokenBucket,
  tracedShape,
  windowIdeal,
} from "../test/support/limiter-shapes.ts";

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const [LAT, JIT, SLOWMS, SLOWLAT] = [env("LAT", 2), env("JIT", 3), env("SLOWMS", 0), env("SLOWLAT", 30)];
const [FLEET, STARTUP, SEEDS, CALLS] = [env("FLEET", 1), env("STARTUP", 0), env("SEEDS", 3), env("CALLS", 500)];
const OWN = env("OWN", 0) === 1;

/** A linear congruential generator: the same seed, the same jitter. */
const seeded = (seed: number) => () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

async function run(shape: Shape, seed: number, calls: number) {
  const clock = manualClock();
  const traced = tracedShape(shape);
  const api = limitedApi(traced.shape, clock.now);
  const jitter = seeded(seed);
  const started = clock.now();
  const fetch: typeof globalThis.fetch = async (input, init) => {
    await clock.sleep((clock.now() - started < SLOWMS ? SLOWLAT : LAT) + jitter() * JIT);
    return api.fetch(input, init);
  };
  const shared = FLEET > 1 ? { rateLimiter: createRateLimiter({ clock }) } : {};
  // OWN=1: each client its own in-memory gate, as a fleet's processes without the shared limiter.
  const gateOf = () => (OWN ? { rateLimiter: createRateLimiter({ clock }) } : shared);
  const clients = Array.from({ length: FLEET }, () =>
    createClient({ serviceToken: "a:b", baseUrl: "https://api.test/v1", fetch, clock, ...gateOf() }),
  );
  let [done, failed] = [0, 0];
  for (let i = 0; i < calls; i++) {
    const member = i % FLEET;
    void (async () => {
      if (STARTUP > 0 && FLEET > 1) await clock.sleep((member * STARTUP) / FLEET + 1);
      await clients[member]?.createRole({ ...BRANCH, name: `load-${i}` }).catch(() => failed++);
      done++;
    })();
  }
  for (let step = 0; done < calls && step < 2_000_000; step++) await clock.advance(1);
  const duplicates = api.created.length - new Set(api.created).size;
  return { tookMs: clock.now() - started, limited: api.limited, failed, duplicates, phases: traced.phases() };
}

// A small budget's case makes fewer calls: 500 at 10 a second would outlast the calls' 30 s deadline.
const FEW = Math.min(CALLS, 200);
const cases: [string, () => Shape, number, number?][] = [
  ["bucket100", () => tokenBucket(100, 100), bucketIdeal(CALLS, 100, 100)],
  ["window", () => fixedWindow(125, 2_000), windowIdeal(CALLS, 125, 2_000)],
  ["bucket20", () => tokenBucket(20, 100), bucketIdeal(CALLS, 20, 100)],
  ["noRetryAfter", () => tokenBucket(100, 100, "none"), bucketIdeal(CALLS, 100, 100)],
  // PlanetScale's 600 a minute as a bucket with a burst under LEARNING_SAMPLE, unscaled.
  ["bucket5", () => tokenBucket(5, 10), bucketIdeal(FEW, 5, 10), FEW],
];
const only = process.env.ONLY?.split(",");
console.log(
  `${CALLS} creates, ${FLEET} client(s), answers in ${LAT}+${JIT} ms` +
    (SLOWMS > 0 ? `, ${SLOWLAT} ms for the first ${SLOWMS} ms` : "") +
    (FLEET > 1 && STARTUP > 0 ? `, started over ${STARTUP} ms` : ""),
);
for (const [name, shape, idealMs, calls = CALLS] of cases) {
  if (only && !only.includes(name)) continue;
  const figures: string[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const result = await run(shape(), seed * 7919, calls);
    const faults = result.failed + result.duplicates > 0 ? ` FAILED ${result.failed} DUP ${result.duplicates}` : "";
    figures.push(`${(result.tookMs / idealMs).toFixed(2)}x (${result.limited} 429s${faults})`);
    if (process.env.TRACE) console.log(`    ${result.phases}`);
  }
  console.log(`${name.padEnd(13)}${figures.join("  ")}`);
}
