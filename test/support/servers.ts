// Local servers the tests start on loopback: one that records what arrives and answers as each
// test scripts it, including the faults a real network produces.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export type Handler = ((request: RecordedRequest, res: ServerResponse, socket: IncomingMessage["socket"]) => void) & {
  /** Run as soon as the request line and headers arrive, before the body is read. */
  beforeBody?: boolean;
};

export interface TestServer {
  url: string;
  requests: RecordedRequest[];
  /** Answers the next request with this handler; once the queue is empty, the fallback answers. */
  next(...handlers: Handler[]): void;
  /** Forgets recorded requests and queued handlers, between tests. */
  reset(): void;
  close(): Promise<void>;
}

export const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_req, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(typeof body === "string" ? body : JSON.stringify(body));
  };

/** Destroys the connection once the request has been read: the server saw it, the client gets no answer. */
export const resetAfterBody: Handler = (_req, _res, socket) => socket.destroy();

/** Destroys the connection before reading the body. */
export const resetBeforeBody: Handler = Object.assign(
  (_req: RecordedRequest, _res: ServerResponse, socket: IncomingMessage["socket"]) => socket.destroy(),
  { beforeBody: true },
);

/** Never answers; the socket stays open until the client gives up or the server closes. */
export const hang: Handler = () => {};

/** Sends a 200 whose body stops short of the Content-Length it announced, then drops the connection. */
export const truncated =
  (body: string): Handler =>
  (_req, res, socket) => {
    res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body) + 100) });
    res.write(body, () => socket.destroy());
  };

export const redirect =
  (status: number, location: string): Handler =>
  (_req, res) => {
    res.writeHead(status, { location });
    res.end();
  };
export async function startServer(fallback: Handler = json(200, {}), port = 0): Promise<TestServer> {
  const queue: Handler[] = [];
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (queue[0]?.beforeBody) {
      const recorded = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: "" };
      requests.push(recorded);
      (queue.shift() as Handler)(recorded, res, req.socket);
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const recorded = {
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(recorded);
      (queue.shift() ?? fallback)(recorded, res, req.socket);
    });
  });
  // Node's 5 s default races a busy client reusing an idle socket (ECONNRESET on the next request):
  // tests on a loaded machine keep sockets well past their longest pause.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    next: (...handlers) => queue.push(...handlers),
    reset: () => {
      requests.length = 0;
      queue.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port that was free a moment ago and has nothing listening on it. */
export async function closedPort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
