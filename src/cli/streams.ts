// stdout and stderr as the command writes to them. A reader may go away before the command is
// done (`planetscale-roles list … | head -1`): the write then fails with EPIPE, which Node reports
// as an 'error' event that, unhandled, ends the process with a stack trace. Here it is noted
// instead, so that the command can tell whether what it printed arrived.
import type { Writable } from "node:stream";

export interface LineWriter {
  write(text: string): void;
  /** Resolves once every line given so far has been handled: true if all were written. */
  written(): Promise<boolean>;
}

export function lineWriter(stream: Writable): LineWriter {
  let failed = false;
  let pending: Promise<void> = Promise.resolve();
  stream.on("error", () => {
    failed = true;
  });
  return {
    write(text) {
      if (failed) return;
      const done = new Promise<void>((resolve) => {
        stream.write(`${text}\n`, (error) => {
          if (error) failed = true;
          resolve();
        });
      });
      pending = pending.then(() => done);
    },
    written: () => pending.then(() => !failed),
  };
}
