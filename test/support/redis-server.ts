// A real redis-server (Debian's package) for the shared rate limiter's tests and bench/fleet.ts: on a
// free loopback port, keeping nothing on disk, and stopped by whoever started it.
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { closedPort } from "./servers.ts";

export interface RedisServer {
  url: string;
  port: number;
  /** Kills it at once (SIGKILL), as a crash or a lost machine would. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  restart(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open and nothing answers. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

async function spawnRedis(port: number, extra: string[] = []): Promise<ChildProcess> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", ...extra];
  const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "ignore"] });
  let output = "";
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes("Ready to accept connections")) {
        child.stdout?.off("data", onData);
        child.stdout?.resume();
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`redis-server exited with ${code} before it was ready:\n${output}`)));
  });
  child.removeAllListeners("exit");
  return child;
}

async function killed(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, "exit");
  child.kill("SIGCONT");
  child.kill(signal);
  await exited;
}

export async function startRedisServer(): Promise<RedisServer> {
  const port = await closedPort();
  let child = await spawnRedis(port);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => killed(child, "SIGKILL"),
    async restart() {
      await killed(child, "SIGKILL");
      child = await spawnRedis(port);
    },
    freeze: () => child.kill("SIGSTOP"),
    thaw: () => child.kill("SIGCONT"),
    stop: () => killed(child, "SIGTERM"),
  };
}

export interface GarbageRedis {
  url: string;
  port: number;
  /** EVALSHA and EVAL commands received: every script run the limiter asked for. */
  readonly scripts: number;
  close(): Promise<void>;
}

/** The commands in `buffer` (RESP arrays of bulk strings, as clients send), and the bytes not yet whole. */
function parseCommands(buffer: Buffer): { commands: string[][]; rest: Buffer } {
  const commands: string[][] = [];
  let at = 0;
  const line = (from: number) => {
    const end = buffer.indexOf("\r\n", from);
    return end < 0 ? undefined : { text: buffer.toString("latin1", from, end), next: end + 2 };
  };
  for (;;) {
    const header = line(at);
    if (!header?.text.startsWith("*")) break;
    const args: string[] = [];
    let next = header.next;
    for (let count = Number(header.text.slice(1)); count > 0; count--) {
      const size = line(next);
      if (!size) return { commands, rest: buffer.subarray(at) };
      const length = Number(size.text.slice(1));
      if (buffer.length < size.next + length + 2) return { commands, rest: buffer.subarray(at) };
      args.push(buffer.toString("utf8", size.next, size.next + length));
      next = size.next + length + 2;
    }
    commands.push(args);
    at = next;
  }
  return { commands, rest: buffer.subarray(at) };
}

/**
 * A server on a loopback port that speaks RESP well enough for ioredis to connect (it refuses HELLO,
 * so the client falls back to RESP2, and answers INFO as a loaded server would), then answers every
 * script with `scriptReply`, raw RESP such as "+OK\r\n" (or what it returns for the nth script, from 1).
 */
const INFO = "# Server\r\nloading:0";

export async function startGarbageRedis(scriptReply: string | ((nth: number) => string)): Promise<GarbageRedis> {
  let scripts = 0;
  const sockets = new Set<Socket>();
  const answer = (command: string): string => {
    if (command === "HELLO") return "-ERR unknown command 'HELLO'\r\n";
    if (command === "INFO") return `$${INFO.length}\r\n${INFO}\r\n`;
    if (command === "EVALSHA" || command === "EVAL") {
      scripts++;
      return typeof scriptReply === "string" ? scriptReply : scriptReply(scripts);
    }
    return "+OK\r\n";
  };
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let pending: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      const { commands, rest } = parseCommands(Buffer.concat([pending, chunk]));
      pending = rest;
      for (const [name = ""] of commands) socket.write(answer(name.toUpperCase()));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get scripts() {
      return scripts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A Redis Cluster of one node that holds every slot: enough for ioredis's Cluster client, which
 * routes each command by its key's slot, to run the limiter's scripts.
 */
export async function startRedisCluster(): Promise<{ port: number; stop(): Promise<void> }> {
  const port = await closedPort();
  const dir = await mkdtemp(path.join(tmpdir(), "psr-redis-cluster-"));
  const child = await spawnRedis(port, [
    "--cluster-enabled",
    "yes",
    "--cluster-announce-ip",
    "127.0.0.1",
    "--dir",
    dir,
  ]);
  const setup = new Redis({ port, host: "127.0.0.1" });
  try {
    await setup.call("CLUSTER", "ADDSLOTSRANGE", "0", "16383");
    while (!String(await setup.call("CLUSTER", "INFO")).includes("cluster_state:ok")) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    setup.disconnect();
  }
  return {
    port,
    async stop() {
      await killed(child, "SIGTERM");
      await rm(dir, { recursive: true, force: true });
    },
  };
}
