// Starts a Prism mock of a spec on a free loopback port, for the tests and for `npm start`.
import { type ChildProcess, spawn } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

export interface PrismServer {
  url: string;
  /** Milliseconds from spawn to "listening". */
  startupMs: number;
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

function prismBin(): string {
  const manifest = require.resolve("@stoplight/prism-cli/package.json");
  const { bin } = require(manifest) as { bin: Record<string, string> };
  return path.join(path.dirname(manifest), bin.prism as string);
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(force);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

export function startPrism(specPath: string, { timeoutMs = 60_000 } = {}): Promise<PrismServer> {
  const started = performance.now();
  // -p 0 lets the kernel pick a free port; Prism prints the address it got.
  const child = spawn(process.execPath, [prismBin(), "mock", "-p", "0", "-h", "127.0.0.1", specPath], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      void stopProcess(child);
      reject(new Error(`Prism did not start: ${why}\n${output.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`no "listening" line within ${timeoutMs} ms`), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Prism is listening on (http:\/\/[^\s]+)/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stdout?.resume();
      child.stderr?.resume();
      resolve({
        url: (match[1] as string).replace(/\/$/, ""),
        startupMs: Math.round(performance.now() - started),
        stop: () => stopProcess(child),
      });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once("error", (error) => fail(error.message));
    child.once("exit", (code, signal) => fail(`exited with ${code ?? signal}`));
  });
}
