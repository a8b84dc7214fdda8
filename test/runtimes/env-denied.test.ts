// Deno without --allow-env throws on every read of process.env. A client given everything in its
// options must not need the environment there, and an unreadable variable counts as not set.
import { describe, expect, it } from "vitest";
import { createClient, InvalidRequestError } from "../../src/index.ts";

/**
 * Runs `action` with a process.env that refuses every read, as Deno's does without --allow-env,
 * and gives back what it returned or threw. The real env is back before any assertion runs,
 * since vitest itself reads it.
 */
function withDeniedEnvironment(action: () => unknown): { value?: unknown; thrown?: unknown } {
  // Node loads undici lazily (on openapi-fetch's first use of Request), and undici reads
  // process.env itself: a first client, built before the denial, gets that done.
  createClient({ serviceToken: "id:token", baseUrl: "http://127.0.0.1:9" });
  const original = process.env;
  const refuse = (): never => {
    throw new Error("NotCapable: Requires env access, run again with the --allow-env flag");
  };
  process.env = new Proxy({}, { get: refuse, has: refuse, ownKeys: refuse, getOwnPropertyDescriptor: refuse });
  try {
    return { value: action() };
  } catch (thrown) {
    return { thrown };
  } finally {
    process.env = original;
  }
}

describe("createClient where the environment cannot be read", () => {
  it("builds a client from explicit options without reading the environment", () => {
    const { value, thrown } = withDeniedEnvironment(() =>
      createClient({ serviceToken: { id: "id", token: "token" }, baseUrl: "http://127.0.0.1:9" }),
    );
    expect(thrown).toBeUndefined();
    expect(typeof (value as { createRole?: unknown }).createRole).toBe("function");
  });

  it("treats unreadable credentials as not set: an InvalidRequestError naming serviceToken", () => {
    const { thrown } = withDeniedEnvironment(() => createClient({ baseUrl: "http://127.0.0.1:9" }));
    expect(thrown).toBeInstanceOf(InvalidRequestError);
    expect((thrown as InvalidRequestError).field).toBe("serviceToken");
    expect((thrown as Error).message).toMatch(/no PlanetScale credentials/);
  });
});
