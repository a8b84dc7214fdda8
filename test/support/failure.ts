import type { PlanetScaleError } from "../../src/index.ts";

/** The error a call ended in; a call that succeeds fails the test instead. */
export function failure(promise: Promise<unknown>): Promise<PlanetScaleError> {
  return promise.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (error: unknown) => error as PlanetScaleError,
  );
}
