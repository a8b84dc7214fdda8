// Entry for the runtimes with a command line (Node, Bun, Deno): `<runtime> smoke.mjs ROLES_URL
// HANGING_URL`. Prints one `SMOKE_RESULTS <json>` line for the harness.
import { type Inspect, runSmoke } from "./smoke.ts";

interface Deno {
  inspect: Inspect;
}
interface Bun {
  inspect: Inspect;
}
const { Deno, Bun } = globalThis as { Deno?: Deno; Bun?: Bun };

async function runtimeInspect(): Promise<Inspect> {
  if (Deno) return (value, options) => Deno.inspect(value, options);
  if (Bun) return (value, options) => Bun.inspect(value, options);
  return (await import("node:util")).inspect;
}

// Deno 2 and Bun have Node's process global too (argv and exit need no Deno permission).
const [rolesUrl, hangingUrl] = process.argv.slice(2);
if (!rolesUrl || !hangingUrl) throw new Error("usage: smoke.mjs ROLES_URL HANGING_URL");
try {
  const results = await runSmoke({ rolesUrl, hangingUrl, inspect: await runtimeInspect() });
  console.log(`SMOKE_RESULTS ${JSON.stringify(results)}`);
} catch (error) {
  // The suite's rejection watch would swallow a rethrow: report and leave with a failure.
  console.error(error);
  process.exit(1);
}
