// The command's own failures, beside the library's errors. Exit codes: 0 success; 1 the API, the
// network or the person said no, or something failed after a request may have been sent;
// 2 the command line is wrong and nothing was sent; 130 (SIGINT) or 143 (SIGTERM) interrupted.

/** Exit 2. `usage: true` prints the command's usage after the message; otherwise a pointer to --help. */
export class UsageError extends Error {
  readonly showUsage: boolean;
  constructor(message: string, options: { usage?: boolean } = {}) {
    super(message);
    this.showUsage = options.usage ?? true;
  }
}

/** Exit 1: the person said no; nothing was sent. */
export class Cancelled extends Error {}

const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;
export type InterruptSignal = keyof typeof SIGNAL_NUMBERS;

/** The process was told to stop (Ctrl-C, a supervisor): the reason its interrupt signal aborts with. */
export class Interrupted extends Error {
  /** 128 + the signal's number, as a shell reports a process the signal ended. */
  readonly exitCode: number;
  constructor(readonly signal: InterruptSignal) {
    super(`interrupted (${signal})`);
    this.exitCode = 128 + SIGNAL_NUMBERS[signal];
  }
}
