// The planetscale-roles command: from argv to an exit code. Parsing is in args.ts, the
// subcommands in commands.ts, formats in output.ts, messages in messages.ts; everything that
// talks to the API is the library's.
import type { Dispatcher } from "undici";
import { type ClientOptions, createClient, DEFAULT_BASE_URL } from "../client.ts";
import { AbortError, InvalidRequestError, PlanetScaleError } from "../errors.ts";
import { debugLogger, formatLogEvent } from "../log.ts";
import { type CommandLine, type Invocation, invocationOf, namedCommand, parseCommandLine } from "./args.ts";
import type { CommandIo, Values } from "./commands.ts";
import type { Credentials } from "./env-file.ts";
import { Cancelled, Interrupted, UsageError } from "./failures.ts";
import {
  clientErrorText,
  failureText,
  interruptedText,
  isUnusableAnswer,
  neverExpiresText,
  unwrittenPasswordText,
} from "./messages.ts";
import { formatResult, hasCredentials, jsonText, rawText } from "./output.ts";
import { type ProxySettings, proxyDispatcher, proxyLine, proxySettings } from "./proxy.ts";
import { visible, visibleLines } from "./terminal.ts";
import { usage } from "./usage.ts";

export interface CliIo extends CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  /** Resolves once everything given to stdout was handled: false if its reader closed it first. */
  stdoutWritten?: () => Promise<boolean>;
}

const WARNING = "WARNING: the password is shown only this once. PlanetScale cannot show it again: store it now.";

/** What a failure report needs to know about the run so far. */
interface RunState {
  debug: boolean;
  /** Set before the first request goes out: from then on, exit 2 (nothing was sent) is impossible. */
  sent: boolean;
  /** The command argv names: its usage is the one to show. */
  named: ReturnType<typeof namedCommand>;
  invocation?: Invocation;
  /** The answer whose one-time password went to stdout. */
  printedPassword?: Credentials;
  /** An unreadable answer of a command that returns credentials went to stdout. */
  printedRawAnswer?: boolean;
}

function say(io: CliIo, line: string): void {
  io.stderr(`planetscale-roles: ${visible(line)}`);
}

function requireCredentials(values: Values, env: Record<string, string | undefined>): void {
  const id = values["service-token-id"];
  const token = values["service-token"];
  if ((id === undefined) !== (token === undefined)) {
    throw new UsageError("--service-token-id and --service-token go together", { usage: false });
  }
  if (id !== undefined && values["access-token"] !== undefined) {
    throw new UsageError("give --access-token or --service-token-id/--service-token, not both", { usage: false });
  }
  const given = id !== undefined || values["access-token"] !== undefined;
  if (given || env.PLANETSCALE_SERVICE_TOKEN_ID || env.PLANETSCALE_SERVICE_TOKEN || env.PLANETSCALE_ACCESS_TOKEN)
    return;
  throw new UsageError(
    "no PlanetScale credentials: pass --service-token-id and --service-token (a service token) or --access-token " +
      "(an OAuth token), or set PLANETSCALE_SERVICE_TOKEN_ID and PLANETSCALE_SERVICE_TOKEN (or PLANETSCALE_ACCESS_TOKEN)",
    { usage: false },
  );
}

/**
 * Loads what sends through the proxy. Its idle connections do not hold the process (undici unrefs
 * them), so the run need not close it.
 */
async function loadProxy(settings: ProxySettings, io: CliIo, state: RunState): Promise<Dispatcher> {
  let dispatcher: Dispatcher;
  try {
    dispatcher = await proxyDispatcher(settings);
  } catch (error) {
    const reason = (error as Error)?.message ?? String(error);
    throw new UsageError(
      `${settings.variable} is set, but undici, which sends through a proxy, did not load: ${reason}`,
      {
        usage: false,
      },
    );
  }
  if (state.debug) say(io, proxyLine(settings));
  return dispatcher;
}

/** Node's fetch, through the environment's proxy when one applies to the API's address. */
async function sendingFetch(apiUrl: string, io: CliIo, state: RunState): Promise<typeof fetch> {
  const settings = proxySettings(io.env, apiUrl);
  const dispatcher = settings && (await loadProxy(settings, io, state));
  return (input, init) => {
    state.sent = true;
    // Node's fetch takes undici's dispatcher; its RequestInit type does not name it.
    return fetch(input, dispatcher ? ({ ...init, dispatcher } as RequestInit) : init);
  };
}

async function clientFor(line: CommandLine, io: CliIo, state: RunState) {
  const { values } = line;
  requireCredentials(values, io.env);
  const options: ClientOptions = {
    // The library's PLANETSCALE_DEBUG logger writes with console.error; this one goes through io, escaped.
    env: { ...io.env, PLANETSCALE_DEBUG: undefined },
  };
  if (state.debug || debugLogger(io.env)) options.logger = (event) => io.stderr(visible(formatLogEvent(event)));
  if (typeof values["base-url"] === "string") options.baseUrl = values["base-url"];
  options.fetch = await sendingFetch(options.baseUrl ?? (io.env.PLANETSCALE_API_URL || DEFAULT_BASE_URL), io, state);
  if (typeof values["service-token-id"] === "string" && typeof values["service-token"] === "string") {
    options.serviceToken = { id: values["service-token-id"], token: values["service-token"] };
  }
  if (typeof values["access-token"] === "string") options.accessToken = values["access-token"];
  try {
    return createClient(options);
  } catch (error) {
    if (!(error instanceof InvalidRequestError)) throw error;
    const baseUrlFlag = options.baseUrl === undefined ? undefined : (line.spelled["base-url"] ?? "--base-url");
    throw new UsageError(clientErrorText(error, baseUrlFlag), { usage: false });
  }
}

/** Prints the result; if it cannot be written in the chosen format, the API's answer as JSON, and exit 1. */
function deliver(result: unknown, invocation: Invocation, io: CliIo, state: RunState): number {
  const { name, command, args, format } = invocation;
  const credentials = command.credentials === true && hasCredentials(result);
  if (credentials) state.printedPassword = result;
  let code = 0;
  try {
    const done = command.done && ((where: string) => command.done?.(args, invocation.values, where) ?? "");
    const output = formatResult(result, format, {
      command: name,
      args,
      credentials: command.credentials === true,
      done,
    });
    if (output.text !== undefined) io.stdout(output.text);
    for (const note of output.notes) say(io, note);
    if (name === "create" && (result as { expires_at?: unknown } | undefined)?.expires_at === null) {
      say(io, neverExpiresText(invocation, result as Credentials));
    }
  } catch (error) {
    // Whatever failed, the answer (and the one-time password in it) is not lost.
    io.stdout(jsonText(result));
    const reason = ((error as Error)?.message ?? String(error)).replace(/^connectionString: /, "");
    say(io, `could not write the answer as --format ${format} (${reason}); it is printed as JSON instead.`);
    code = 1;
  }
  if (credentials) io.stderr(WARNING);
  return code;
}

async function run(argv: string[], io: CliIo, state: RunState): Promise<number> {
  const line = parseCommandLine(argv);
  state.debug = line.values.debug === true;
  if (line.values.help) {
    io.stdout(usage(line.name, line.command));
    return 0;
  }
  const invocation = invocationOf(line, io.env);
  state.invocation = invocation;
  const ps = await clientFor(line, io, state);
  const result = await invocation.command.run(ps, invocation.args, line.values, io);
  return deliver(result, invocation, io, state);
}

function reportUsageError(error: UsageError | InvalidRequestError, io: CliIo, state: RunState): number {
  const { invocation } = state;
  say(io, error instanceof InvalidRequestError && invocation ? failureText(error, invocation) : error.message);
  const name = state.named.command ? state.named.name : undefined;
  if (error instanceof UsageError && error.showUsage) io.stderr(`\n${usage(name, state.named.command)}`);
  else io.stderr(`Run \`planetscale-roles ${name ?? ""}${name ? " " : ""}--help\` for the arguments and options.`);
  return 2;
}

/** The interrupt that ended the command, when it was one (the library's AbortError carries it as cause). */
function interruptOf(error: unknown): Interrupted | undefined {
  if (error instanceof Interrupted) return error;
  return error instanceof AbortError && error.cause instanceof Interrupted ? error.cause : undefined;
}

function report(error: unknown, io: CliIo, state: RunState): number {
  const { invocation } = state;
  const interrupt = interruptOf(error);
  if (interrupt) {
    say(io, interruptedText(error, invocation, interrupt, state.sent));
    return interrupt.exitCode;
  }
  if ((error instanceof UsageError || error instanceof InvalidRequestError) && !state.sent) {
    return reportUsageError(error, io, state);
  }
  if (error instanceof Cancelled) {
    say(io, error.message);
    return 1;
  }
  const unusable = isUnusableAnswer(error);
  if (unusable) {
    io.stdout(rawText(error.body));
    state.printedRawAnswer = invocation?.command.credentials === true;
  }
  if (error instanceof PlanetScaleError && invocation) say(io, failureText(error, invocation));
  else if (error instanceof UsageError) say(io, error.message);
  else say(io, `unexpected failure: ${(error as Error)?.message ?? String(error)}`);
  if (unusable && invocation?.command.credentials) io.stderr(WARNING);
  const stack = (error as Error)?.stack;
  // The frames only: the message above is already escaped, and the stack's copy of it is not.
  if (state.debug && stack?.includes("\n    at ")) io.stderr(visibleLines(stack.slice(stack.indexOf("\n    at ") + 1)));
  return 1;
}

/**
 * A reader that closed stdout early wanted no more: the command ends as it would have. Unless the
 * one copy of a password was in what did not arrive: then the role exists and nobody has it.
 */
async function checkWritten(code: number, io: CliIo, state: RunState): Promise<number> {
  const { printedPassword, printedRawAnswer, invocation } = state;
  if (!(printedPassword || printedRawAnswer) || !invocation || !io.stdoutWritten) return code;
  if (await io.stdoutWritten()) return code;
  say(
    io,
    printedPassword
      ? unwrittenPasswordText(invocation, printedPassword)
      : "stdout was closed: the raw answer, which may hold the only copy of the password, could not be written.",
  );
  return 1;
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const state: RunState = { debug: argv.includes("--debug"), sent: false, named: namedCommand(argv) };
  let code: number;
  try {
    code = await run(argv, io, state);
  } catch (error) {
    code = report(error, io, state);
  }
  return checkWritten(code, io, state);
}
