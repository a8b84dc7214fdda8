// Reading argv into a command, its arguments and its options, with errors in our own words:
// node's parseArgs runs non-strict (its strict messages speak of parseArgs and '-- "--x"'), and
// each token is checked here instead.
import { parseArgs } from "node:util";
import {
  type Args,
  type Command,
  commandNamed,
  GLOBAL_OPTIONS,
  type OptionSpec,
  signature,
  type Values,
} from "./commands.ts";
import { UsageError } from "./failures.ts";
import { OUTPUT_FORMATS, type OutputFormat } from "./output.ts";

export interface CommandLine {
  name: string | undefined;
  command: Command | undefined;
  values: Values;
  positionals: string[];
}

type OptionToken = { name: string; rawName: string; value?: string | undefined; inlineValue?: boolean | undefined };

function optionValue(token: OptionToken, options: Record<string, OptionSpec>, where: string): string | boolean {
  const spec = Object.hasOwn(options, token.name) ? options[token.name] : undefined;
  if (!spec) throw new UsageError(`${where} has no option ${token.rawName}`);
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

/** The command argv names, before anything else is checked: its usage is the one to show on an error. */
export function namedCommand(argv: string[]): { name: string | undefined; command: Command | undefined } {
  const name = argv[0] && !argv[0].startsWith("-") ? argv[0] : undefined;
  return { name, command: name === undefined ? undefined : commandNamed(name) };
}

export function parseCommandLine(argv: string[]): CommandLine {
  const { name, command } = namedCommand(argv);
  if (name !== undefined && !command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  const options = { ...GLOBAL_OPTIONS, ...command?.options };
  const types = Object.fromEntries(Object.entries(options).map(([option, spec]) => [option, { type: spec.type }]));
  const { tokens } = parseArgs({
    args: command ? argv.slice(1) : argv,
    options: types,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Values = {};
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") positionals.push(token.value);
    else if (token.kind === "option") values[token.name] = optionValue(token, options, name ?? "planetscale-roles");
  }
  return { name, command, values, positionals };
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
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(
      `--format must be ${OUTPUT_FORMATS.slice(0, -1).join(", ")} or ${OUTPUT_FORMATS.at(-1)}, not ${JSON.stringify(format)}`,
    );
  }
  // Refused before anything is sent: the command would run, and then have nothing to print.
  if ((format === "env" || format === "docker-env") && command.credentials !== true) {
    throw new UsageError(
      `--format ${format} is for commands that return credentials (create, reset, reset-default), not ${name}`,
    );
  }
  const args: Args = { organization };
  command.positionals.forEach((positional, index) => {
    args[positional] = positionals[index];
  });
  return { name, command, values, args, format: format as OutputFormat };
}
