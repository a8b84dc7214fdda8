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
    // planetscale-roles/testing: its own build, so the main entry shares no chunk with the fake.
    entry: { testing: "src/testing/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    platform: "neutral",
    target: "node18",
    clean: false,
  },
  {
    // The command is ESM only (top-level await) and never imported.
    entry: { bin: "src/bin.ts" },
    format: ["esm"],
    platform: "node",
    target: "node18",
    dts: false,
    clean: false,
  },
]);
