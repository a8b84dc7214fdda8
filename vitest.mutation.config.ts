// The suites Stryker runs against each mutant (npm run test:mutation). Only suites that call the
// library in this process can kill a mutant: Stryker switches mutants on a global of the test
// worker, so the CLI, the packed tarball and the spec scripts, which run in child processes or
// never import src/, see the original code and would only add minutes.
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.ts";

export default mergeConfig(
  base,
  defineConfig({
    test: {
      // Stryker runs one worker and restarts vitest per mutant; reusing that worker across files
      // saves a third of the run. The suites restore what they change (env, spies), and mutants are
      // switched through a global at run time, so no module needs a fresh load.
      isolate: false,
      exclude: [
        // The CLI runs as a child process (runTs): src/cli.ts is not mutated, and the library code
        // it calls is the original there.
        "test/cli.test.ts",
        "test/cli-roles.test.ts",
        // npm pack + installs of the built dist/, not src/.
        "test/package.test.ts",
        // scripts/ (pull-spec, generate), not src/.
        "test/spec-changes.test.ts",
        "test/spec-pipeline.test.ts",
        // connection-string.ts and cli-output.ts, through bash and dotenv; none of the mutated files.
        "test/connection-string.test.ts",
        // 500 concurrent creates against a token bucket: a throughput check, 4 s a run, that vitest would
        // start first for every mutant on the request path; retry.test.ts proves the same rules one at a time.
        "test/load.test.ts",
        // Type assertions only: nothing runs.
        "test/types.test.ts",
      ],
    },
  }),
);
