// The suites Stryker runs against each mutant (npm run test:mutation). Only suites that call the
// library in this process can kill a mutant: Stryker switches mutants on a global of the test
// worker, so the CLI, the packed tarball and the spec scripts, which run in child processes or
// never import src/, see the original code and would only add minutes.
import { defineConfig, mergeConfig } from "vitest/config";
import base from "./vitest.config.ts";

const config = mergeConfig(
  base,
  defineConfig({
    test: {
      // Stryker runs one worker and restarts vitest per mutant; reusing that worker across files
      // saves a third of the run. The suites restore what they change (env, spies), and mutants are
      // switched through a global at run time, so no module needs a fresh load.
      isolate: false,
      exclude: [
        // The CLI's suites: src/cli/ is not mutated, and where it runs as a child process the
        // library code it calls is the original there.
        "test/cli*.test.ts",
        // The built dist/, the packed tarball, bundles, the workflows and the licence, not src/.
        "test/declarations.test.ts",
        // Sizes of the built dist/ (bundle, declarations, type-check cost), not src/.
        "test/package-cost.test.ts",
        "test/testing-bundle.test.ts",
        "test/redis-entry.test.ts",
        "test/prism-recipe.test.ts",
        "test/workflow-lint.test.ts",
        "test/spec-update-pr.test.ts",
        "test/license.test.ts",
        "test/readme-example.test.ts",
        "test/testing-readme.test.ts",
        "test/testing-listen.test.ts",
        // A real redis-server for src/redis/, which is not mutated.
        "test/redis-*.test.ts",
        // npm pack + installs of the built dist/, not src/.
        "test/package.test.ts",
        // scripts/ (pull-spec, generate), not src/.
        "test/spec-*.test.ts",
        // connection-string.ts and cli-output.ts, through bash and dotenv; none of the mutated files.
        "test/connection-string.test.ts",
        // 500 concurrent creates against a token bucket: a throughput check, 4 s a run, that vitest would
        // start first for every mutant on the request path; gate.test.ts and retries.test.ts prove the
        // same rules one at a time.
        "test/load.test.ts",
        // Type assertions only: nothing runs.
        "test/types.test.ts",
        // An embedded PostgreSQL started in beforeAll (about a second, again for every mutant they
        // reach) for what src/pg/ and src/testing/postgres.ts do with it, neither of them mutated. The
        // client calls they make through the fake are the ones testing-fake, roles and lease-* prove.
        "test/pg-fake.test.ts",
        "test/pg-pool.test.ts",
        // dist/ loaded in a bare project by child processes: the original code, whatever the mutant.
        "test/pg-entry.test.ts",
        // A child process (tsx) that must exit by itself: library code there is the original.
        "test/lease-process.test.ts",
        // README text against test/support and test/fixtures files, and the machine's own checks.
        "test/pg-readme.test.ts",
        "test/readme-lease.test.ts",
        "test/preflight.test.ts",
        // The README's proxy recipe through a real proxy: its rules (HTTP_PROXY, NO_PROXY) are the
        // recipe's own, in test/fixtures; the library has no proxy code, and the user's fetch passing
        // through the guarded fetch is transport.test.ts's.
        "test/proxy-recipe.test.ts",
      ],
    },
  }),
);
// mergeConfig would add this setup to the base one, whose Postgres check is the one to leave out.
config.test.globalSetup = ["test/support/mutation-setup.ts"];

export default config;
