// Reading argv into a command, its arguments and its options, with errors in our own words:
// node's parseArgs runs non-strict (its strict messages speak of parseArgs and '-- "--x"'), and
// each token is checked here instead.
import { parseArgs } from "node:util";
import {
  type Args,
  COMMANDS,
  type Command,
  commandNamed,
  formatsOf,
  GLOBAL_OPTIONS,
  type OptionSpec,
  signature,
  type Values,
} from "./commands.ts";
import { UsageError } from "./failures.ts";
import { OUTPUT_FORMATS, type OutputFormat } from "./output.ts";
import { nearestName } from "./suggest.ts";

export interface CommandLine {
  name: string | undefined;
  command: Command | undefined;
  /** By each option's own name: --api-url's value is under "base-url". */
  values: Values;
  positionals: string[];
  /** How each option given was spelled (`--api-url`, `-f`), for messages about it. */
  spelled: Record<string, string>;
}

type OptionToken = { name: string; rawName: string; value?: string | undefined; inlineValue?: boolean | undefined };

function unknownOption(token: OptionToken, names: Map<string, string>, where: string): UsageError {
  const near = token.rawName.startsWith("--") ? nearestName(token.name, names.keys()) : undefined;
  return new UsageError(`${where} has no option ${token.rawName}${near ? `; did you mean --${near}?` : ""}`);
}

function optionValue(token: OptionToken, spec: OptionSpec): string | boolean {
  if (spec.type === "boolean") {
    if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`);
    return true;
  }
  // Non-strict parseArgs takes the next word whatever it is: `--ttl --format json` would set ttl
  // to "--format". A value that looks like a long option is refused; "-5" is left to the option's check.
  if (token.value === undefined || (!token.inlineValue && token.value.startsWith("--"))) {
    throw new UsageError(`${token.rawName} needs a value`);
  }
  return token.value;
}

// Non-strict: each token is checked above, in the command's words.
const LENIENT = { strict: false, allowPositionals: true, tokens: true } as const;

/** The command argv names, before anything else is checked: its usage is the one to show on an error. */
export function namedCommand(argv: string[]): { name: string | undefined; command: Command | undefined } {
  const name = argv[0] && !argv[0].startsWith("-") ? argv[0] : undefined;
  return { name, command: name === undefined ? undefined : commandNamed(name) };
}

/** Every long name an option answers to, mapped to its own name. */
function optionNames(options: Record<string, OptionSpec>): Map<string, string> {
  const names = new Map<string, string>();
  for (const [option, spec] of Object.entries(options)) {
    for (const name of [option, ...(spec.aliases ?? [])]) names.set(name, option);
  }
  return names;
}

export function parseCommandLine(argv: string[]): CommandLine {
  const { name, command } = namedCommand(argv);
  if (name !== undefined && !command) {
    const near = nearestName(name, Object.keys(COMMANDS));
    throw new UsageError(`unknown command ${JSON.stringify(name)}${near ? `; did you mean ${near}?` : ""}`);
  }
  const options = { ...GLOBAL_OPTIONS, ...command?.options };
  const names = optionNames(options);
  const config = Object.fromEntries(
    [...names].map(([spelling, option]) => {
      const { type, short } = options[option] as OptionSpec;
      return [spelling, spelling === option && short ? { type, short } : { type }];
    }),
  );
  const { tokens } = parseArgs({ args: command ? argv.slice(1) : argv, options: config, ...LENIENT });
  const line: CommandLine = { name, command, values: {}, positionals: [], spelled: {} };
  for (const token of tokens) {
    if (token.kind === "positional") line.positionals.push(token.value);
    if (token.kind !== "option") continue;
    const option = names.get(token.name);
    if (option === undefined) throw unknownOption(token, names, name ?? "planetscale-roles");
    line.values[option] = optionValue(token, options[option] as OptionSpec);
    line.spelled[option] = token.rawName;
  }
  return line;
}

const orList = (words: readonly string[]) => `${words.slice(0, -1).join(", ")} or ${words.at(-1)}`;

function formatRefusal(name: string, format: string, formats: readonly string[]): string {
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    return `--format must be ${orList(formats)}, not ${JSON.stringify(format)}`;
  }
  const withCredentials = Object.keys(COMMANDS).filter((command) => COMMANDS[command]?.credentials);
  return `${name} takes --format ${orList(formats)}; ${format} is for the commands that return credentials (${withCredentials.join(", ")})`;
}

export interface Invocation {
  name: string;
  command: Command;
  values: Values;
  /** organization and the positionals, by the names the library takes. */
  args: Args;
  format: OutputFormat;
}

/** Checks what the command needs beyond parsing: its argument count, --org and --format. */
export function invocationOf(line: CommandLine, env: Record<string, string | undefined>): Invocation {
  const { name, command, values, positionals } = line;
  if (!name || !command) throw new UsageError("no command given");
  const required = command.positionals.length - (command.optional ?? 0);
  if (positionals.length < required || positionals.length > command.positionals.length) {
    const count = `${positionals.length} argument${positionals.length === 1 ? "" : "s"}`;
    throw new UsageError(`${name} takes ${signature(command)}; got ${count}`);
  }
  const organization = typeof values.org === "string" ? values.org : env.PLANETSCALE_ORG;
  if (!organization) throw new UsageError("--org is required (or set PLANETSCALE_ORG)");
  const format = typeof values.format === "string" ? values.format : "human";
  // Refused before anything is sent: the command would run, and then have nothing to print.
  const formats = formatsOf(command) as readonly string[];
  if (!formats.includes(format)) throw new UsageError(formatRefusal(name, format, formats), { usage: false });
  const args: Args = { organization };
  command.positionals.forEach((positional, index) => {
    args[positional] = positionals[index];
  });
  return { name, command, values, args, format: format as OutputFormat };
}
