// npm run bench:answers — what reading a create answer costs against JSON.parse of the same text,
// for answers whose strings hold long runs of escaped quotes (`\"`), up to a body near the 4 MiB
// cap. A create answer is scanned for a credential key given twice; that scan once retried at every
// quote, which made it quadratic (80,000 quotes: 5 s). Read in one pass, the ratio stays flat as
// the run grows. Each size: the median of ROUNDS rounds, both variants in every round.
import { createClient } from "../src/index.ts";
import { BRANCH, roleFixture } from "../test/support/fixtures.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 7);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

function timed(run: () => unknown): number {
  const start = performance.now();
  run();
  return performance.now() - start;
}

for (const quotes of [1_000, 10_000, 100_000, 1_000_000]) {
  const body = JSON.stringify(roleFixture({ name: '"'.repeat(quotes) }));
  const client = createClient({
    serviceToken: "id:token",
    baseUrl: "https://api.test/v1",
    fetch: async () => new Response(body, { headers: { "content-type": "application/json" } }),
  });
  const parse: number[] = [];
  const create: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    parse.push(timed(() => JSON.parse(body)));
    const start = performance.now();
    await client.createRole(BRANCH);
    create.push(performance.now() - start);
  }
  const [p, c] = [median(parse), median(create)];
  console.log(
    `${String(quotes).padStart(9)} quotes (${(body.length / 1024).toFixed(0)} KiB): createRole ${c.toFixed(2)} ms, ` +
      `JSON.parse ${p.toFixed(2)} ms, ${(c / p).toFixed(1)}x`,
  );
}
