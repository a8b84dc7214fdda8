import { defineConfig } from "vitest/config";

export default defineConfig({
  // Tests that import the package by name, as the README's example does, get the source: a fresh
  // clone has no dist/ until the build.
  resolve: {
    alias: [
      {
        find: /^planetscale-roles\/testing$/,
        replacement: new URL("./src/testing/index.ts", import.meta.url).pathname,
      },
      { find: /^planetscale-roles$/, replacement: new URL("./src/index.ts", import.meta.url).pathname },
    ],
  },
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Generous: several tests run tsc, npm or the CLI as child processes on a 2-core machine.
    testTimeout: 90_000,
    hookTimeout: 60_000,
    // Suites that start servers or child processes are I/O-bound; two workers fit this 2-core machine.
    maxWorkers: 2,
  },
});
