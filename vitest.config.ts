import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 60_000,
    // Suites that start servers or child processes are I/O-bound; two workers fit this 2-core machine.
    maxWorkers: 2,
  },
});
