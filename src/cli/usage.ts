// The help text: the command list, or one command's arguments and options.
import { VERSION } from "../version.ts";
import {
  COMMANDS,
  type Command,
  formatHelp,
  formatsOf,
  GLOBAL_OPTIONS,
  type OptionSpec,
  signature,
} from "./commands.ts";

function optionLines(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).map(([option, spec]) => {
    const names = [spec.short && `-${spec.short}`, `--${option}`, ...(spec.aliases ?? []).map((alias) => `--${alias}`)];
    const label = `  ${names.filter(Boolean).join(", ")}${spec.type === "string" ? " <value>" : ""}`;
    return `${label.padEnd(34)}${spec.help}`;
  });
}

/** The global options, with --format offering what this command (or any command) can print. */
function globalOptions(command: Command | undefined): Record<string, OptionSpec> {
  const format = { ...(GLOBAL_OPTIONS.format as OptionSpec), help: formatHelp(formatsOf(command)) };
  return { ...GLOBAL_OPTIONS, format };
}

function formatLines(command: Command | undefined): string[] {
  if (!formatsOf(command).includes("env")) return ["Formats: human (for a terminal), json (the API's answer)."];
  return [
    "Formats: human (for a terminal), json (the API's answer), env (export lines for `source` and dotenv),",
    "docker-env (KEY=value lines for `docker run --env-file`). The warning about a one-time password goes to stderr.",
  ];
}

export function usage(name?: string, command?: Command): string {
  const lines: string[] = [];
  if (name && command) {
    lines.push(`Usage: planetscale-roles ${name} ${signature(command)} --org <org> [options]`, "", command.summary, "");
    lines.push("Options:", ...optionLines(command.options));
  } else {
    lines.push(`planetscale-roles ${VERSION}: PlanetScale Postgres role credentials`, "");
    lines.push("Usage: planetscale-roles <command> [arguments] --org <org> [options]", "", "Commands:");
    for (const [commandName, spec] of Object.entries(COMMANDS)) {
      lines.push(`  ${commandName.padEnd(16)}${spec.summary}`);
    }
    lines.push("", "Run `planetscale-roles <command> --help` for a command's arguments.");
  }
  lines.push("", "Global options:", ...optionLines(globalOptions(command)));
  lines.push(
    "",
    "Credentials: PLANETSCALE_SERVICE_TOKEN_ID + PLANETSCALE_SERVICE_TOKEN, or PLANETSCALE_ACCESS_TOKEN, or the options above.",
    ...formatLines(command),
    "Exit codes: 0 success; 1 API or network error, or a failure after a request may have been sent;",
    "2 usage error, nothing was sent; 130 interrupted (Ctrl-C), 143 terminated (SIGTERM).",
  );
  return lines.join("\n");
}
