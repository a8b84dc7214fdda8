import { execFile } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortError, createClient, TimeoutError } from "../src/index.ts";
import { BRANCH, roleFixture } from "./support/fixtures.ts";
import { ROOT } from "./support/run.ts";
import { hang, json, startServer, type TestServer } from "./support/servers.ts";

let hanging: TestServer;
let answering: TestServer;
beforeAll(async () => {
  hanging = await startServer(hang);
  answering = await startServer(json(200, roleFixture()));
});
afterAll(async () => {
  await hanging.close();
  await answering.close();
});

describe("timeouts and aborts", () => {
  it("ends an attempt that passes timeoutMs in a TimeoutError", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url, timeoutMs: 100, maxRetries: 0 });
    const error = await ps.getRole({ ...BRANCH, id: "r" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toContain("timed out after 100 ms");
  });

  it("ends a call whose signal fires in an AbortError, a different class", async () => {
    const ps = createClient({ serviceToken: "id:secret", baseUrl: hanging.url });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("shutting down")), 50);
    const error = await ps.getRole({ ...BRANCH, id: "r" }, { signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect(error).not.toBeInstanceOf(TimeoutError);
    expect((error as AbortError).cause).toEqual(new Error("shutting down"));
  });

  it("sends nothing when the signal has already fired", async () => {
    const before = answering.requests.length;
    const ps = createClient({ serviceToken: "id:secret", baseUrl: answering.url });
    await expect(ps.createRole(BRANCH, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(answering.requests.length).toBe(before);
  });

  it("leaves no timer or socket behind: a process that timed out, aborted and succeeded exits by itself", async () => {
    const child = path.join(ROOT, "test/support/timeout-child.ts");
    const started = Date.now();
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(
        process.execPath,
        ["--import", "tsx", child, hanging.url, answering.url],
        { cwd: ROOT, timeout: 15_000 },
        (error, out) => resolve({ code: error ? ((error.code as number | null) ?? null) : 0, stdout: out }),
      );
    });
    expect(stdout.trim()).toBe("TimeoutError AbortError ok");
    expect(code).toBe(0);
    // The client's default deadline is 30 s: a timer left running would hold the process that long.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
