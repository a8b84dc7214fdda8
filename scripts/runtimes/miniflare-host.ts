// Runs the bundled worker smoke suite in workerd through miniflare, and prints its results the way
// the command-line entries do. Run by the cached Node 24 (miniflare needs Node 22 or later), which
// strips the types itself:
//   node miniflare-host.ts MINIFLARE_MAIN WORKER_BUNDLE ROLES_URL HANGING_URL
import path from "node:path";
import { pathToFileURL } from "node:url";
import { WORKER_COMPATIBILITY_DATE } from "./versions.ts";

interface Miniflare {
  dispatchFetch(url: string): Promise<Response>;
  dispose(): Promise<void>;
}
type MiniflareClass = new (options: Record<string, unknown>) => Miniflare;

const [miniflareMain, scriptPath, rolesUrl, hangingUrl] = process.argv.slice(2);
if (!miniflareMain || !scriptPath || !rolesUrl || !hangingUrl) {
  throw new Error("usage: miniflare-host.ts MINIFLARE_MAIN WORKER_BUNDLE ROLES_URL HANGING_URL");
}
const { Miniflare } = (await import(pathToFileURL(miniflareMain).href)) as { Miniflare: MiniflareClass };
// No nodejs_compat: the package must run in a plain worker. Outbound fetches reach 127.0.0.1.
const worker = new Miniflare({
  modules: true,
  scriptPath,
  // Module names are paths under this root; the default (the working directory) would need "..".
  modulesRoot: path.dirname(scriptPath),
  compatibilityDate: WORKER_COMPATIBILITY_DATE,
  bindings: { ROLES_URL: rolesUrl, HANGING_URL: hangingUrl },
});
try {
  const response = await worker.dispatchFetch("http://smoke.invalid/");
  const text = await response.text();
  if (!response.ok) throw new Error(`the worker answered ${response.status}: ${text}`);
  console.log(`SMOKE_RESULTS ${text}`);
} finally {
  await worker.dispose();
}
