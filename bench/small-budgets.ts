// npm run bench:small-budgets — budgets smaller than issue 18's shapes, and limits that change or
// say too little, on a clock this script steers (as bench:shapes:steered): concurrent createRole
// calls from one client with default options, answers 3 ms after they are sent. An outside attack
// found each of these failing calls well inside their deadline, on a bare 429 once the call's
// retries were spent: each hold is met by several calls at once, and each 429 spends one of a
// call's two retries. Now a 429 met while a call waited its turn (the budget was letting the
// client's calls through) spends no retry: what still fails calls is holds that let nothing
// through, as a Retry-After shorter than the refill makes (the server asks for less than it
// needs) or the backoff's guesses without one. Prints, for each case, the failures, the 429s and the time
// against the ideal. Not in npm test (gate-shapes.test.ts holds three of these shapes).
import { bucketIdeal, createAllBehind, type Shape, tokenBucket } from "../test/support/limiter-shapes.ts";

/** `before` until `atMs` after the first request, then `after`: a limit lowered mid-run. */
function changing(before: Shape, after: Shape, atMs: number): Shape {
  let origin: number | undefined;
  return (now) => {
    origin ??= now;
    return (now - origin < atMs ? before : after)(now);
  };
}

/** `shape`, but every 429 says Retry-After `seconds`, however long the shape would make it wait. */
const retryAfterSays =
  (shape: Shape, seconds: string): Shape =>
  (now) => {
    const verdict = shape(now);
    return verdict.ok ? verdict : { ...verdict, retryAfter: seconds };
  };

const cases: [string, () => Shape, number, number | undefined][] = [
  ["bucket 1 + 1/s", () => tokenBucket(1, 1), 10, bucketIdeal(10, 1, 1)],
  ["bucket 1 + 1/s, no Retry-After", () => tokenBucket(1, 1, "none"), 15, bucketIdeal(15, 1, 1)],
  ["bucket 5 + 2/s", () => tokenBucket(5, 2), 30, bucketIdeal(30, 5, 2)],
  ["bucket 5 + 10/s", () => tokenBucket(5, 10), 200, bucketIdeal(200, 5, 10)],
  // The ideal of a limit lowered mid-run depends on where the first 1 s leaves the calls: none given.
  [
    "bucket 100 + 100/s, then 5 + 5/s after 1 s",
    () => changing(tokenBucket(100, 100), tokenBucket(5, 5), 1_000),
    150,
    undefined,
  ],
  // A Retry-After (1 s) shorter than the refill needs (2 s a token).
  ["bucket 10 + 0.5/s, Retry-After 1 s", () => retryAfterSays(tokenBucket(10, 0.5), "1"), 15, bucketIdeal(15, 10, 0.5)],
];

for (const [name, shape, calls, idealMs] of cases) {
  const { results, api, tookMs } = await createAllBehind(shape(), calls, 3);
  const failed = results.filter((result) => result.status === "rejected").length;
  const duplicates = api.created.length - new Set(api.created).size;
  // Calls that failed end the run early: the ratio counts only when none did.
  const ratio = idealMs && failed === 0 ? `${(tookMs / idealMs).toFixed(2)}x of the ideal ` : "";
  const time = `${ratio}(${(tookMs / 1000).toFixed(1)} s${idealMs ? `, ideal ${(idealMs / 1000).toFixed(1)} s` : ""})`;
  console.log(
    `${name.padEnd(44)} ${String(calls).padStart(3)} creates: ${failed} failed, ${duplicates} duplicates, ${api.limited} 429s, ${time}`,
  );
}
