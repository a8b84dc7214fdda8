import { defineConfig } from "tsdown";

export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    platform: "neutral",
    target: "node18",
    clean: true,
  },
  {
    // The command is ESM only (top-level await) and never imported.
    entry: { bin: "src/cli/bin.ts" },
    format: ["esm"],
    platform: "node",
    target: "node18",
    dts: false,
    clean: false,
  },
]);
