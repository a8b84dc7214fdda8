// Mutation testing of the trust code (npm run test:mutation; not part of npm test). Stryker 10
// needs Node 22 or later, so the script runs it on a Node 22 from the npm registry (the `node`
// package, through npx) whatever Node the project itself runs on.
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  testRunner: "vitest",
  // related: false: the per-test coverage below already picks the tests for each mutant.
  vitest: { configFile: "vitest.mutation.config.ts", related: false },
  // The files whose rules make the package worth trusting. Not src/generated (machine-written) nor
  // the CLI (its tests run it as a child process, where no mutant is switched on).
  mutate: [
    "src/retry.ts",
    "src/transport.ts",
    "src/secrets.ts",
    "src/validate.ts",
    "src/request.ts",
    "src/roles.ts",
    "src/errors.ts",
    "src/answers.ts",
    "src/schema.ts",
    "src/gate.ts",
  ],
  // Each mutant runs only the tests that reached it.
  coverageAnalysis: "perTest",
  // Mutants in code that runs only while a module loads (the policy table, constant sets and
  // patterns: about a tenth of them) would each need a fresh vitest running every test.
  ignoreStatic: true,
  // Later runs re-test only mutants whose code or covering tests changed.
  incremental: true,
  incrementalFile: "reports/mutation/stryker-incremental.json",
  // Two runners fit this 2-core machine; a mutant that stalls a read is cut off after 10 s.
  concurrency: 2,
  timeoutMS: 10_000,
  ignorePatterns: ["dist", "bench", "coverage", ".tmp", "reports"],
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/mutation.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  tempDirName: ".stryker-tmp",
  cleanTempDir: "always",
};
