// A forward proxy on loopback, as a company network puts between a service and the internet: it
// tunnels CONNECT host:port (what clients do for https, and undici for http too) and forwards
// absolute-form requests (GET http://host/path), and records what it was asked for.
import { createServer, request as httpRequest, type IncomingMessage } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { afterAll, beforeAll } from "vitest";
import { roleFixture } from "./fixtures.ts";
import { json, startServer, type TestServer } from "./servers.ts";

export interface TestProxy {
  url: string;
  /** One line per request: "CONNECT 127.0.0.1:4321" or "GET http://127.0.0.1:4321/path". */
  seen: string[];
  /** The Proxy-Authorization header of each request, when one came. */
  authorizations: string[];
  close(): Promise<void>;
}

export async function startProxy(): Promise<TestProxy> {
  const seen: string[] = [];
  const authorizations: string[] = [];
  const sockets = new Set<Socket>();
  const record = (req: IncomingMessage) => {
    seen.push(`${req.method} ${req.url}`);
    const authorization = req.headers["proxy-authorization"];
    if (authorization) authorizations.push(authorization);
  };
  const server = createServer((req, res) => {
    record(req);
    const target = new URL(req.url ?? "");
    const headers = { ...req.headers };
    delete headers["proxy-authorization"];
    const upstream = httpRequest(
      { host: target.hostname, port: target.port, path: target.pathname + target.search, method: req.method, headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  server.on("connect", (req: IncomingMessage, client: Socket, head: Buffer) => {
    record(req);
    const [host, port] = (req.url ?? "").split(":");
    const upstream = connect(Number(port), host as string, () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.write(head);
      upstream.pipe(client).on("error", () => {});
      client.pipe(upstream);
    });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on("close", () => sockets.delete(socket));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    authorizations,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A proxy, and an API that answers every request with a role, started for the tests of one file. */
export function proxyAndApi(): { readonly proxy: TestProxy; readonly api: TestServer } {
  const servers = {} as { proxy: TestProxy; api: TestServer };
  beforeAll(async () => {
    [servers.proxy, servers.api] = await Promise.all([startProxy(), startServer(json(200, roleFixture()))]);
  });
  afterAll(async () => {
    await Promise.all([servers.proxy?.close(), servers.api?.close()]);
  });
  return servers;
}
