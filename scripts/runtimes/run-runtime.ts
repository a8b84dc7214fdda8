// Runs one runtime's smoke entry as a child process with a deadline, and reads back its results.
import { spawn } from "node:child_process";
import type { SmokeResult } from "../../test/runtimes/smoke.ts";

export interface RuntimeRun {
  results: SmokeResult[];
  seconds: number;
}

const MARKER = "SMOKE_RESULTS ";
const DEADLINE_MS = 120_000;

function failure(name: string, detail: string): SmokeResult[] {
  return [{ name, outcome: "failed", detail }];
}

/** A runtime that crashes, hangs or prints no results counts as one failed test, with its output. */
export function runRuntime(
  command: string,
  args: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<RuntimeRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    // Its own process group, so a deadline ends workerd too when miniflare's host is the child.
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk;
    });
    const deadline = setTimeout(() => {
      try {
        if (child.pid) process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }, DEADLINE_MS);
    const finish = (results: SmokeResult[]) => {
      clearTimeout(deadline);
      resolve({ results, seconds: (performance.now() - started) / 1000 });
    };
    child.on("error", (error) => finish(failure("start the runtime", error.message)));
    child.on("close", (code, signal) => {
      const line = stdout.split("\n").find((candidate) => candidate.startsWith(MARKER));
      const output = `${stderr}${stdout}`.trim().slice(-2000);
      if (!line) return finish(failure("run the smoke suite", `exit ${code ?? signal}, no results:\n${output}`));
      const results = JSON.parse(line.slice(MARKER.length)) as SmokeResult[];
      if (code !== 0) results.push(...failure("exit cleanly", `exit ${code ?? signal}:\n${output}`));
      finish(results);
    });
  });
}
