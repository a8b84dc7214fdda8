// Run as a child process by deadlines.test.ts: makes calls that end by timeout, by abort and
// normally, prints how each ended, and then must exit on its own (no timer or socket left).
import { createClient } from "../../src/index.ts";

const [hangingUrl, answeringUrl] = process.argv.slice(2) as [string, string];
const branch = { organization: "acme", database: "app-db", branch: "main" };
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    () => "ok",
    (error: Error) => error.name,
  );

const hanging = createClient({ serviceToken: "id:secret", baseUrl: hangingUrl, maxRetries: 0 });
const answering = createClient({ serviceToken: "id:secret", baseUrl: answeringUrl });
const controller = new AbortController();
setTimeout(() => controller.abort(), 100);
const results = await Promise.all([
  outcome(hanging.createRole(branch, { timeoutMs: 150 })),
  outcome(hanging.createRole(branch, { signal: controller.signal })),
  // Default 30 s deadline: its timer must be cleared once the answer is in.
  outcome(answering.createRole(branch)),
]);
console.log(results.join(" "));
