// The command run in this process through main(argv, io), the way bin.ts runs it: what it wrote to
// stdout and stderr, and its exit code. Each test that needs an API starts its own server.
import { type CliIo, main } from "../../src/cli/main.ts";
import { type Handler, startServer, type TestServer } from "./servers.ts";

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export const TOKEN_ENV = { PLANETSCALE_SERVICE_TOKEN_ID: "cli-id", PLANETSCALE_SERVICE_TOKEN: "cli-secret-token" };

/** Runs the command with exactly `env` as its environment; `input` answers a prompt ("" = input ended). */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; input?: string } = {},
): Promise<CliRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = {
    stdout: (text) => stdout.push(`${text}\n`),
    stderr: (text) => stderr.push(`${text}\n`),
    prompt: async (question) => {
      stderr.push(question);
      return options.input ?? "";
    },
    env: { ...TOKEN_ENV, ...options.env },
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
