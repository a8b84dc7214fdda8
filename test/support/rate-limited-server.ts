// A create_role endpoint behind a rate limiter of any shape (limiter-shapes.ts), on the real clock:
// a request the limiter refuses gets 429 (with Retry-After when the shape gives one) and is not
// acted on. Used by the Redis limiter's tests and by bench/.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { roleFixture } from "./fixtures.ts";
import { answerHeaders, type Shape, TOO_MANY, tokenBucket } from "./limiter-shapes.ts";

export interface RateLimitedServer {
  url: string;
  /** Role names created, in order; a name twice is a duplicate create. */
  created: string[];
  limited: number;
  close(): Promise<void>;
}

/** A token bucket, as PlanetScale's rate limiter is thought to behave: 429 with Retry-After in whole seconds. */
export function startRateLimitedServer(capacity: number, refillPerSecond: number): Promise<RateLimitedServer> {
  return startShapedServer(tokenBucket(capacity, refillPerSecond));
}

export async function startShapedServer(shape: Shape): Promise<RateLimitedServer> {
  const created: string[] = [];
  const state = { limited: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const verdict = shape(performance.now());
      res.writeHead(verdict.ok ? 200 : 429, answerHeaders(verdict));
      if (!verdict.ok) {
        state.limited++;
        res.end(TOO_MANY);
        return;
      }
      const { name } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { name: string };
      created.push(name);
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
