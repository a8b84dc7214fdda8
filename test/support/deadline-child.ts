// Run by deadlines.test.ts in a process of its own. "memory": with --expose-gc, 5,000 calls that
// share one signal that never fires, and prints how many bytes a call left on the heap once all
// ended. "deaf": one call whose fetch never settles and holds nothing open, and prints how it ended
// (a deadline that does not keep the process alive lets it exit with the call still pending).
import { createClient } from "../../src/index.ts";
import { roleFixture } from "./fixtures.ts";

const role = { organization: "acme", database: "app-db", branch: "main", id: "role-1" };
const body = JSON.stringify(roleFixture());
const gc = () => (globalThis as { gc?: () => void }).gc?.();
// Collections with turns between them: undici lets go of a request's signal in a finalizer, which
// runs after the collection that found the request unreachable.
const heap = async () => {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return process.memoryUsage().heapUsed;
};

if (process.argv[2] === "memory") {
  const ps = createClient({
    serviceToken: "id:secret",
    baseUrl: "https://api.example.test/v1",
    fetch: async () => new Response(body, { headers: { "content-type": "application/json" } }),
  });
  const shared = new AbortController().signal;
  for (let i = 0; i < 500; i++) await ps.getRole(role, { signal: shared });
  const before = await heap();
  for (let i = 0; i < 5_000; i++) await ps.getRole(role, { signal: shared });
  console.log(Math.round(((await heap()) - before) / 5_000));
} else {
  const ps = createClient({
    serviceToken: "id:secret",
    baseUrl: "https://api.example.test/v1",
    fetch: () => new Promise<Response>(() => {}),
  });
  ps.createRole({ organization: "acme", database: "app-db", branch: "main", name: "deaf" }, { timeoutMs: 200 }).then(
    () => console.log("resolved"),
    (error: Error) => console.log(error.name),
  );
}
