// Local servers the tests start on loopback: one that records what arrives and answers as each
// test scripts it, including the faults a real network produces.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

export type Handler = (request: RecordedRequest, res: ServerResponse, socket: IncomingMessage["socket"]) => void;

export interface TestServer {
  url: string;
  requests: RecordedRequest[];
  /** Answers the next request with this handler; once the queue is empty, the fallback answers. */
  next(...handlers: Handler[]): void;
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

export async function startServer(fallback: Handler = json(200, {})): Promise<TestServer> {
  const queue: Handler[] = [];
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
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
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    next: (...handlers) => queue.push(...handlers),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
