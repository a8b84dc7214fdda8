// The shared fixtures of a file or describe: a recording server started once for its tests and a
// client made afresh before each, so that a group of tests declares in one line what it runs on.
import { afterAll, beforeAll, beforeEach } from "vitest";
import type { PlanetScaleClient } from "../../src/index.ts";
import { roleFixture } from "./fixtures.ts";
import { type Handler, json, startServer, type TestServer } from "./servers.ts";

/** Stands for what a hook makes later: every property read goes to the one it has made by then. */
function madeByHook<T extends object>(current: () => T | undefined, what: string): T {
  return new Proxy({} as T, {
    get(_target, key) {
      const made = current();
      if (made === undefined) throw new Error(`${what} is read before the hook that makes it ran`);
      const value = Reflect.get(made, key);
      return typeof value === "function" ? value.bind(made) : value;
    },
  });
}

/**
 * A server for the tests of the enclosing file or describe, answering `fallback` (a role by
 * default): started before them and closed after; with `reset`, its records and queue are
 * emptied before each test.
 */
export function serverForTests(options: { fallback?: Handler; reset?: boolean } = {}): TestServer {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startServer(options.fallback ?? json(200, roleFixture()));
  });
  afterAll(() => server?.close());
  if (options.reset) beforeEach(() => server?.reset());
  return madeByHook(() => server, "the test server");
}

/** A client made by `make` before each test of the enclosing file or describe. */
export function clientForTests(make: () => PlanetScaleClient): PlanetScaleClient {
  let client: PlanetScaleClient | undefined;
  beforeEach(() => {
    client = make();
  });
  return madeByHook(() => client, "the client");
}
