// Serves the fake over HTTP on loopback, for a CLI or another process. Node only: node:http is
// imported when listen() is called, so the fake itself loads where there is no node:http.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the fake does with one request: an answer, or a connection to drop after acting. */
export type Serve = (request: Request, base: URL) => Promise<Response | "connection-reset">;

export interface FakeServer {
  /** The API's base URL on this server, e.g. http://127.0.0.1:41234/v1: pass it as baseUrl or --base-url. */
  url: string;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

// Headers that belong to the HTTP connection, not to the request the fake answers.
const HOP_BY_HOP = new Set(["host", "connection", "keep-alive", "content-length", "transfer-encoding"]);

async function toRequest(req: IncomingMessage, base: URL, signal: AbortSignal): Promise<Request> {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name))
      headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  for await (const chunk of req) chunks.push(chunk as Uint8Array<ArrayBuffer>);
  const method = req.method ?? "GET";
  const body = method === "GET" || method === "HEAD" ? undefined : new Blob(chunks);
  return new Request(new URL(req.url ?? "/", base.origin), { method, headers, body, signal });
}

async function relay(serve: Serve, base: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const gone = new AbortController();
  // The client hung up before its answer: end any delay the fake was told to make.
  res.once("close", () => {
    if (!res.writableFinished) gone.abort(new Error("the client closed the connection"));
  });
  try {
    const outcome = await serve(await toRequest(req, base, gone.signal), base);
    if (outcome === "connection-reset") {
      req.socket.destroy();
      return;
    }
    res.writeHead(outcome.status, Object.fromEntries(outcome.headers));
    res.end(new Uint8Array(await outcome.arrayBuffer()));
  } catch {
    res.destroy();
  }
}

// Taken from process.getBuiltinModule (Node 20.16+, Bun, Deno) rather than imported: a bundle for
// a worker or a browser must not try to resolve node:http, and workerd refuses any import whose
// specifier it cannot see. Such runtimes never reach listen().
function nodeHttp(): typeof import("node:http") {
  const builtin = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process?.getBuiltinModule;
  const http = builtin?.("node:http") as typeof import("node:http") | undefined;
  if (!http)
    throw new Error(
      "planetscale-roles/testing: fake.listen() needs Node's http module (Node 20.16 or later, Bun, Deno)",
    );
  return http;
}

export async function listenOnLoopback(serve: Serve, basePath: string): Promise<FakeServer> {
  const { createServer } = nodeHttp();
  let base = new URL("http://127.0.0.1");
  const server = createServer((req, res) => void relay(serve, base, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}${basePath}`);
  return {
    url: base.href.replace(/\/$/, ""),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
