// npm run bench:shapes — 500 concurrent createRole calls from one client with default options,
// against each rate limiter shape of issue 18, scaled in time, over real loopback HTTP. For each
// run: the wall time against the ideal the shape allows, the share of 429 answers, failures and
// duplicate creates; then min–max over the runs. RUNS (default 3) runs each shape; SHAPES picks
// some by name (comma-separated); CALLS changes the count; TRACE=1 prints where each run's time
// went, as the limiter saw it (stretches of sending and of holding).
import { createClient } from "../src/index.ts";
import { BRANCH } from "../test/support/fixtures.ts";
import {
  bucketIdeal,
  fixedWindow,
  type ShapeCase,
  tokenBucket,
  tracedShape,
  windowIdeal,
} from "../test/support/limiter-shapes.ts";
import { startShapedServer } from "../test/support/rate-limited-server.ts";

const CALLS = Number(process.env.CALLS ?? 500);
const RUNS = Number(process.env.RUNS ?? 3);

const cases: ShapeCase[] = [
  {
    name: "bucket 100 + 100/s",
    shape: () => tokenBucket(100, 100),
    idealMs: bucketIdeal(CALLS, 100, 100),
    target: 1.15,
  },
  {
    name: "window 125 per 2 s",
    shape: () => fixedWindow(125, 2_000),
    idealMs: windowIdeal(CALLS, 125, 2_000),
    target: 1.15,
  },
  { name: "bucket 20 + 100/s", shape: () => tokenBucket(20, 100), idealMs: bucketIdeal(CALLS, 20, 100), target: 1.5 },
  {
    name: "bucket 100 + 100/s, no Retry-After",
    shape: () => tokenBucket(100, 100, "none"),
    idealMs: bucketIdeal(CALLS, 100, 100),
    target: 1.5,
  },
  {
    name: "window 125 per 2 s, X-RateLimit headers",
    shape: () => fixedWindow(125, 2_000, "x-ratelimit"),
    idealMs: windowIdeal(CALLS, 125, 2_000),
    target: 1.15,
  },
  {
    name: "window 125 per 2 s, IETF RateLimit headers",
    shape: () => fixedWindow(125, 2_000, "ietf"),
    idealMs: windowIdeal(CALLS, 125, 2_000),
    target: 1.15,
  },
];

interface Run {
  ratio: number;
  limitedShare: number;
  limited: number;
  requests: number;
  failures: number;
  duplicates: number;
  /** Where the time went, from the limiter's side. */
  phases: string;
}

async function runOnce(test: ShapeCase): Promise<Run> {
  const traced = tracedShape(test.shape());
  const server = await startShapedServer(traced.shape);
  try {
    const ps = createClient({ serviceToken: "a:b", baseUrl: server.url });
    const started = performance.now();
    const results = await Promise.allSettled(
      Array.from({ length: CALLS }, (_, i) => ps.createRole({ ...BRANCH, name: `load-${i}` })),
    );
    const wallMs = performance.now() - started;
    const requests = server.created.length + server.limited;
    return {
      ratio: wallMs / test.idealMs,
      limited: server.limited,
      requests,
      limitedShare: server.limited / requests,
      failures: results.filter((result) => result.status === "rejected").length,
      duplicates: server.created.length - new Set(server.created).size,
      phases: traced.phases(),
    };
  } finally {
    await server.close();
  }
}

const range = (values: number[], digits: number, unit = "") => {
  const [min, max] = [Math.min(...values), Math.max(...values)].map((value) => value.toFixed(digits));
  return min === max ? `${min}${unit}` : `${min}–${max}${unit}`;
};

const picked = process.env.SHAPES?.split(",").map((name) => name.trim());
console.log(`${CALLS} concurrent creates, one client, default options; ${RUNS} runs of each shape`);
for (const test of cases.filter((c) => !picked || picked.some((name) => c.name.startsWith(name)))) {
  const runs: Run[] = [];
  for (let run = 0; run < RUNS; run++) {
    const result = await runOnce(test);
    runs.push(result);
    console.log(
      `  ${test.name}: ${result.ratio.toFixed(2)}x, 429s ${result.limited} of ${result.requests}, ` +
        `failures ${result.failures}, duplicates ${result.duplicates}`,
    );
    if (process.env.TRACE) console.log(`    ${result.phases}`);
  }
  const met = runs.every(
    (r) => r.ratio <= test.target && r.limitedShare <= 0.1 && r.failures === 0 && r.duplicates === 0,
  )
    ? "met"
    : "NOT met";
  console.log(
    `${test.name} (ideal ${(test.idealMs / 1000).toFixed(1)} s, target ${test.target}x): ` +
      `${range(
        runs.map((r) => r.ratio),
        2,
        "x",
      )}, 429s ${range(
        runs.map((r) => 100 * r.limitedShare),
        1,
        "%",
      )}, failures ${range(
        runs.map((r) => r.failures),
        0,
      )}, duplicates ${range(
        runs.map((r) => r.duplicates),
        0,
      )}: ${met}`,
  );
}
