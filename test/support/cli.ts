// The command run in this process through main(argv, io), the way bin.ts runs it: what it wrote to
// stdout and stderr, and its exit code. Each test that needs an API starts its own server.
// spawnCli runs the real executable instead, for what only a process has: a stdout whose reader
// went away, and signals.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { constants as osConstants } from "node:os";
import path from "node:path";
import { type CliIo, main } from "../../src/cli/main.ts";
import { ROOT } from "./run.ts";
import { type Handler, startServer, type TestServer } from "./servers.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export const TOKEN_ENV = { PLANETSCALE_SERVICE_TOKEN_ID: "cli-id", PLANETSCALE_SERVICE_TOKEN: "cli-secret-token" };

/** A child inherits the machine's environment: a proxy set there would carry the tests' loopback requests. */
export const PROXY_UNSET = {
  HTTPS_PROXY: undefined,
  https_proxy: undefined,
  HTTP_PROXY: undefined,
  http_proxy: undefined,
  NO_PROXY: undefined,
  no_proxy: undefined,
};

/**
 * Runs the command with exactly `env` as its environment; `input` answers a prompt ("" = input
 * ended); `stdoutClosed`: stdout's reader went away, so nothing printed there arrived;
 * `signal`: stands for the process's interrupt (SIGINT, SIGTERM), aborted with an Interrupted.
 */
export async function runCli(
  args: string[],
  options: {
    env?: Record<string, string | undefined>;
    input?: string;
    stdoutClosed?: boolean;
    signal?: AbortSignal;
    /** Told each line as it is written to stderr. */
    onStderr?: (text: string) => void;
  } = {},
): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = {
    stdout: (text) => stdout.push(`${text}\n`),
    stderr: (text) => {
      stderr.push(`${text}\n`);
      options.onStderr?.(text);
    },
    prompt: async (question) => {
      stderr.push(question);
      return options.input ?? "";
    },
    env: { ...TOKEN_ENV, ...options.env },
    stdoutWritten: async () => !options.stdoutClosed,
    signal: options.signal,
  };
  const code = await main(args, io);
  return { code, stdout: stdout.join(""), stderr: stderr.join("") };
}

/** Starts a server that only this test uses, and closes it whatever the test does. */
export async function withServer<T>(fallback: Handler, use: (server: TestServer) => Promise<T>): Promise<T> {
  const server = await startServer(fallback);
  try {
    return await use(server);
  } finally {
    await server.close();
  }
}

/** The executable as a child process, handed back while it runs: to close its stdout, or signal it. */
export interface CliChild {
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Its exit code once it ends (128 + the signal's number if a signal ended it). */
  exited: Promise<number>;
  /** Kills it if it is still running: for a test's finally. */
  stop(): void;
}

export function spawnCli(args: string[], env: Record<string, string | undefined> = {}): CliChild {
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "src/cli/bin.ts"), ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...PROXY_UNSET,
      PLANETSCALE_DEBUG: undefined,
      PLANETSCALE_ORG: undefined,
      ...TOKEN_ENV,
      ...env,
    },
    // stdin stays open and empty: a prompt waits, as it does on a terminal.
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<number>((resolve) => {
    child.on("close", (code, signal) => resolve(code ?? 128 + (signal ? osConstants.signals[signal] : 0)));
  });
  return {
    child,
    stderr: () => stderr,
    exited,
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** A built command (dist/bin.mjs, wherever it was installed) run by node, with exactly `env`. */
export function runBuiltCli(
  bin: string,
  args: string[],
  options: { env: Record<string, string | undefined>; cwd: string },
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { ...options, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
  });
}
