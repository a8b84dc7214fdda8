// A script with a lease exits by itself: every wait of a lease is unref'd, and close stops them all.
import { execFile } from "node:child_process";
import path from "node:path";
import { expect, it } from "vitest";
import { ROOT } from "./support/run.ts";

it("lets a script that closed one lease and left another open exit on its own", async () => {
  const child = path.join(ROOT, "test/support/lease-child.ts");
  const { code, stdout, stderr } = await new Promise<{ code: unknown; stdout: string; stderr: string }>((resolve) => {
    // The renewal is due in 6.5 minutes: a wait that held the process would run into this timeout.
    execFile(process.execPath, ["--import", "tsx", child], { cwd: ROOT, timeout: 60_000 }, (error, out, err) =>
      resolve({ code: error ? (error.code ?? error.signal) : 0, stdout: out, stderr: err }),
    );
  });
  expect(stderr).toBe("");
  expect(stdout.trim()).toBe("roles alive: 1");
  expect(code).toBe(0);
});
