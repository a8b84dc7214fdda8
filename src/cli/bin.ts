#!/usr/bin/env node
import { createInterface } from "node:readline/promises";
import { Interrupted, type InterruptSignal } from "./failures.ts";
import { main } from "./main.ts";
import { lineWriter } from "./streams.ts";

const stdout = lineWriter(process.stdout);
const stderr = lineWriter(process.stderr);

// Ctrl-C or a supervisor's SIGTERM aborts the call in flight, so that the command can say what
// may exist. `once`: a second interrupt meets Node's default handler and ends the process at once.
const interrupt = new AbortController();
const stop = (signal: InterruptSignal) => interrupt.abort(new Interrupted(signal));
for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => stop(signal));

async function prompt(question: string): Promise<string> {
  const lines = createInterface({ input: process.stdin, output: process.stderr });
  const { signal } = interrupt;
  // On a terminal, readline takes Ctrl-C itself: it becomes the same interrupt.
  lines.once("SIGINT", () => stop("SIGINT"));
  let interrupted = () => {};
  try {
    // Input that ends before a line is typed answers "" (no).
    return await new Promise<string>((resolve, reject) => {
      interrupted = () => reject(signal.reason);
      if (signal.aborted) return interrupted();
      signal.addEventListener("abort", interrupted, { once: true });
      lines.once("close", () => resolve(""));
      lines.question(question).then(resolve, () => resolve(""));
    });
  } finally {
    signal.removeEventListener("abort", interrupted);
    lines.close();
  }
}

process.exitCode = await main(process.argv.slice(2), {
  stdout: stdout.write,
  stderr: stderr.write,
  stdoutWritten: stdout.written,
  prompt,
  signal: interrupt.signal,
  env: process.env,
});
