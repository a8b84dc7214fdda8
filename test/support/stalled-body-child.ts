// Run by transport.test.ts with --expose-gc: reads a body that trickles for ever, forces a garbage
// collection once the headers are in, and prints how each call ended and after how many ms. Once
// nothing references openapi-fetch's Request, undici's WeakRef link to our signal can be gone.
import { createClient } from "../../src/index.ts";

const [url] = process.argv.slice(2) as [string];
const role = { organization: "acme", database: "app-db", branch: "main", id: "role-1" };
const collect = () => setTimeout(() => (globalThis as { gc?: () => void }).gc?.(), 500);
const ended = async (call: () => Promise<unknown>) => {
  const started = Date.now();
  const outcome = await call().then(
    () => "ok",
    (error: Error) => error.name,
  );
  return `${outcome} ${Date.now() - started}`;
};

const ps = createClient({ serviceToken: "id:secret", baseUrl: url, maxRetries: 0 });
collect();
console.log(await ended(() => ps.getRole(role, { timeoutMs: 1_000 })));
const controller = new AbortController();
setTimeout(() => controller.abort(), 1_000);
collect();
console.log(await ended(() => ps.getRole(role, { signal: controller.signal })));
// Exits by itself once both calls ended; a read left running would keep the socket open.
