#!/usr/bin/env node
import { createInterface } from "node:readline/promises";
import { main } from "./main.ts";
import { lineWriter } from "./streams.ts";

const stdout = lineWriter(process.stdout);
const stderr = lineWriter(process.stderr);

process.exitCode = await main(process.argv.slice(2), {
  stdout: stdout.write,
  stderr: stderr.write,
  stdoutWritten: stdout.written,
  prompt: async (question) => {
    const lines = createInterface({ input: process.stdin, output: process.stderr });
    try {
      // Input that ends before a line is typed answers "" (no).
      return await new Promise<string>((resolve) => {
        lines.once("close", () => resolve(""));
        lines.question(question).then(resolve, () => resolve(""));
      });
    } finally {
      lines.close();
    }
  },
  env: process.env,
});
