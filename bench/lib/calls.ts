// One variant of bench:instructions, run by valgrind: `node calls.mjs <variant> <calls> [socket]`.
// Warms up, then makes <calls> sequential calls; the bench subtracts a run of 0 calls, so start-up
// and warm-up cancel out. In-memory by default (a fetch that answers at once), or over a socket to a
// server in a process of its own, which valgrind does not follow.
import { spawn } from "node:child_process";
import { roleFixture } from "../../test/support/fixtures.ts";
import { createRoleCalls } from "./variants.ts";

const [variant = "", count = "0", over = "memory"] = process.argv.slice(2);
const body = JSON.stringify(roleFixture());
const SERVER = `
const http = require("node:http");
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(process.argv[1]) });
    res.end(process.argv[1]);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, "127.0.0.1", () => console.log(server.address().port));`;

let baseUrl = "https://api.example.test/v1";
let fetcher: typeof fetch = async () =>
  new Response(body, { headers: { "content-type": "application/json", "content-length": String(body.length) } });
const server = over === "socket" ? spawn("node", ["-e", SERVER, body], { stdio: ["ignore", "pipe", "inherit"] }) : null;
if (server) {
  const port = await new Promise<string>((resolve) =>
    server.stdout?.once("data", (chunk: Buffer) => resolve(chunk.toString().trim())),
  );
  baseUrl = `http://127.0.0.1:${port}`;
  fetcher = globalThis.fetch;
}
const variants = createRoleCalls(baseUrl, fetcher);
const call = variants[variant];
if (!call) throw new Error(`no variant ${variant}; one of: ${Object.keys(variants).join(", ")}`);
for (let i = 0; i < Number(process.env.WARMUP ?? 3000); i++) await call();
for (let i = 0; i < Number(count); i++) await call();
server?.kill();
