// A create_role endpoint behind a token bucket, as PlanetScale's rate limiter behaves: a request
// that finds the bucket empty gets 429 with Retry-After and is not acted on. Used by the load test
// and bench/load.ts.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { roleFixture } from "./fixtures.ts";

export interface RateLimitedServer {
  url: string;
  /** Role names created, in order; a name twice is a duplicate create. */
  created: string[];
  limited: number;
  close(): Promise<void>;
}

export async function startRateLimitedServer(capacity: number, refillPerSecond: number): Promise<RateLimitedServer> {
  let tokens = capacity;
  let last = performance.now();
  const created: string[] = [];
  const state = { limited: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const now = performance.now();
      tokens = Math.min(capacity, tokens + ((now - last) / 1000) * refillPerSecond);
      last = now;
      if (tokens < 1) {
        state.limited++;
        const wait = Math.max(1, Math.ceil((1 - tokens) / refillPerSecond));
        res.writeHead(429, { "content-type": "application/json", "retry-after": String(wait) });
        res.end(JSON.stringify({ code: "too_many_requests", message: "rate limited" }));
        return;
      }
      tokens -= 1;
      const { name } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { name: string };
      created.push(name);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(roleFixture({ name, id: `role-${created.length}` })));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    created,
    get limited() {
      return state.limited;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
