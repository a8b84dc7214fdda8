// The planetscale-roles command: argument parsing and exit codes. Output formats live in
// output.ts; everything that talks to the API is the library's.
import { parseArgs } from "node:util";
import { type ClientOptions, createClient, type PlanetScaleClient } from "../client.ts";
import { InvalidRequestError, PlanetScaleError } from "../errors.ts";
import { INHERITED_ROLES } from "../validate.ts";
import { VERSION } from "../version.ts";
import { parseDuration } from "./duration.ts";
import { type OutputFormat, printResult } from "./output.ts";

/** Exit 2: the command line itself is wrong. */
class UsageError extends Error {}

/** Exit 1: the person said no. */
class Cancelled extends Error {}

type Values = Record<string, string | boolean | undefined>;

interface Command {
  summary: string;
  positionals: string[];
  /** Trailing positionals that may be left out. */
  optional?: number;
  options: Record<string, { type: "string" | "boolean"; help: string }>;
  /** The answer carries a one-time password: shown, with the warning, and available as env lines. */
  credentials?: true;
  run(ps: PlanetScaleClient, args: Record<string, string | undefined>, values: Values, io: CliIo): Promise<unknown>;
}

const GLOBAL_OPTIONS = {
  org: { type: "string", help: "organization (default: PLANETSCALE_ORG)" },
  format: { type: "string", help: "human | json | env (default human)" },
  "base-url": { type: "string", help: "API base URL (default: PLANETSCALE_API_URL or https://api.planetscale.com/v1)" },
  "service-token-id": { type: "string", help: "service token id (prefer PLANETSCALE_SERVICE_TOKEN_ID)" },
  "service-token": {
    type: "string",
    help: "service token (prefer PLANETSCALE_SERVICE_TOKEN: argv is visible to other users)",
  },
  "access-token": { type: "string", help: "OAuth access token (prefer PLANETSCALE_ACCESS_TOKEN)" },
  debug: { type: "boolean", help: "log each request on stderr and print stack traces" },
  help: { type: "boolean", help: "show help" },
} as const;

function ttlOf(values: Values): number | undefined {
  if (values.ttl === undefined) return undefined;
  const seconds = parseDuration(String(values.ttl));
  if (seconds instanceof Error) throw new UsageError(`--ttl: ${seconds.message}`);
  return seconds;
}

function intOf(value: string | boolean | undefined): number | undefined {
  return typeof value === "string" ? Number(value) : undefined;
}

function stringOf(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

const WHERE_OPTIONS = {
  "require-where-on-delete": { type: "string", help: "off | warn | on: require WHERE on DELETE" },
  "require-where-on-update": { type: "string", help: "off | warn | on: require WHERE on UPDATE" },
} as const;

type BranchArgs = { organization: string; database: string; branch: string };
type RoleArgs = BranchArgs & { id: string };
const branchOf = (args: Record<string, string | undefined>) => args as BranchArgs;
const roleOf = (args: Record<string, string | undefined>) => args as RoleArgs;

function listOf(value: string | boolean | undefined): string[] | undefined {
  if (typeof value !== "string") return undefined;
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

const COMMANDS: Record<string, Command> = {
  create: {
    summary: "Create role credentials (the password is shown once)",
    credentials: true,
    positionals: ["database", "branch", "name"],
    optional: 1,
    options: {
      ttl: { type: "string", help: "time to live: seconds or a duration (30m, 24h, 7d, 1h30m)" },
      "inherited-roles": {
        type: "string",
        help: `comma-separated roles to inherit, of: ${INHERITED_ROLES.join(", ")}`,
      },
      "with-replication": { type: "boolean", help: "give the role the REPLICATION attribute" },
    },
    run: (ps, args, values) =>
      ps.createRole({
        organization: args.organization as string,
        database: args.database as string,
        branch: args.branch as string,
        name: args.name,
        ttl: ttlOf(values),
        inherited_roles: listOf(values["inherited-roles"]) as never,
        with_replication: values["with-replication"] === true ? true : undefined,
      }),
  },
  list: {
    summary: "List roles (one page, or every page with --all)",
    positionals: ["database", "branch"],
    options: {
      all: { type: "boolean", help: "follow every page" },
      page: { type: "string", help: "page number (default 1)" },
      "per-page": { type: "string", help: "roles per page (default 25)" },
      q: { type: "string", help: "search by name or username" },
      status: { type: "string", help: "filter by status" },
    },
    run: async (ps, args, values) => {
      const filters = {
        ...branchOf(args),
        q: stringOf(values.q),
        status: stringOf(values.status),
        per_page: intOf(values["per-page"]),
      };
      if (!values.all) return ps.listRoles({ ...filters, page: intOf(values.page) });
      if (values.page !== undefined) throw new UsageError("--all and --page do not go together");
      const roles = [];
      for await (const role of ps.listAllRoles(filters)) roles.push(role);
      return roles;
    },
  },
  get: {
    summary: "Show a role (never its password)",
    positionals: ["database", "branch", "id"],
    options: {},
    run: (ps, args) => ps.getRole(roleOf(args)),
  },
  update: {
    summary: "Rename a role or change its query-safety settings",
    positionals: ["database", "branch", "id"],
    options: { name: { type: "string", help: "new name" }, ...WHERE_OPTIONS },
    run: (ps, args, values) =>
      ps.updateRole({
        ...roleOf(args),
        name: stringOf(values.name),
        require_where_on_delete: stringOf(values["require-where-on-delete"]) as never,
        require_where_on_update: stringOf(values["require-where-on-update"]) as never,
      }),
  },
  renew: {
    summary: "Renew a role's expiration",
    positionals: ["database", "branch", "id"],
    options: {},
    run: (ps, args) => ps.renewRole(roleOf(args)),
  },
  reset: {
    summary: "Reset a role's password (the new one is shown once)",
    credentials: true,
    positionals: ["database", "branch", "id"],
    options: {},
    run: (ps, args) => ps.resetRole(roleOf(args)),
  },
  "reset-default": {
    summary: "Reset the branch's default credentials (asks first unless --force)",
    credentials: true,
    positionals: ["database", "branch"],
    options: { force: { type: "boolean", help: "do not ask for confirmation" } },
    run: async (ps, args, values, io) => {
      const where = `${args.organization}/${args.database}/${args.branch}`;
      if (!values.force) {
        const answer = await io.prompt(
          `Reset the default credentials of ${where}? Everything using the current password stops working. Type "yes": `,
        );
        if (answer.trim().toLowerCase() !== "yes") throw new Cancelled(`reset-default cancelled; nothing was sent`);
      }
      return ps.resetDefaultRole(branchOf(args));
    },
  },
  delete: {
    summary: "Delete a role",
    positionals: ["database", "branch", "id"],
    options: { successor: { type: "string", help: "role (id or username) to hand the role's objects to first" } },
    run: (ps, args, values) => ps.deleteRole({ ...roleOf(args), successor: stringOf(values.successor) }),
  },
  reassign: {
    summary: "Hand the objects a role owns to another role",
    positionals: ["database", "branch", "id"],
    options: { successor: { type: "string", help: "role (id or username) that takes the objects (required)" } },
    run: (ps, args, values) => {
      if (typeof values.successor !== "string") throw new UsageError("reassign needs --successor");
      return ps.reassignRoleObjects({ ...roleOf(args), successor: values.successor });
    },
  },
};

function usage(name?: string): string {
  const lines: string[] = [];
  const optionLines = (options: Record<string, { type: string; help: string }>) =>
    Object.entries(options).map(
      ([option, spec]) => `  --${option}${spec.type === "string" ? " <value>" : ""}`.padEnd(30) + spec.help,
    );
  const command = name ? COMMANDS[name] : undefined;
  if (name && command) {
    const args = command.positionals.map((p, i) =>
      i >= command.positionals.length - (command.optional ?? 0) ? `[${p}]` : `<${p}>`,
    );
    lines.push(`Usage: planetscale-roles ${name} ${args.join(" ")} --org <org> [options]`, "", command.summary, "");
    lines.push("Options:", ...optionLines(command.options));
  } else {
    lines.push(`planetscale-roles ${VERSION}: PlanetScale Postgres role credentials`, "");
    lines.push("Usage: planetscale-roles <command> [arguments] --org <org> [options]", "", "Commands:");
    for (const [commandName, spec] of Object.entries(COMMANDS))
      lines.push(`  ${commandName.padEnd(16)}${spec.summary}`);
    lines.push("", "Run `planetscale-roles <command> --help` for a command's arguments.");
  }
  lines.push("", "Global options:", ...optionLines(GLOBAL_OPTIONS));
  lines.push(
    "",
    "Credentials: PLANETSCALE_SERVICE_TOKEN_ID + PLANETSCALE_SERVICE_TOKEN, or PLANETSCALE_ACCESS_TOKEN, or the options above.",
    "Exit codes: 0 success, 1 API or network error, 2 usage error.",
  );
  return lines.join("\n");
}

function clientOptions(values: Values, env: NodeJS.ProcessEnv): ClientOptions {
  const options: ClientOptions = { env };
  if (typeof values["base-url"] === "string") options.baseUrl = values["base-url"];
  const id = values["service-token-id"];
  const token = values["service-token"];
  if (id !== undefined || token !== undefined) {
    if (typeof id !== "string" || typeof token !== "string") {
      throw new UsageError("--service-token-id and --service-token go together");
    }
    options.serviceToken = { id, token };
  }
  if (typeof values["access-token"] === "string") options.accessToken = values["access-token"];
  if (values.debug) options.env = { ...env, PLANETSCALE_DEBUG: "1" };
  return options;
}

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Asks on stderr and resolves to the line typed (empty when input ends). */
  prompt: (question: string) => Promise<string>;
  env: NodeJS.ProcessEnv;
}

/** Runs the command line; resolves to the exit code. */
export async function main(argv: string[], io: CliIo): Promise<number> {
  const name = argv[0] && !argv[0].startsWith("-") ? argv[0] : undefined;
  const command = name ? COMMANDS[name] : undefined;
  let debug = argv.includes("--debug");
  try {
    if (name && !command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
    const { values, positionals } = parseArgs({
      args: command ? argv.slice(1) : argv,
      options: { ...GLOBAL_OPTIONS, ...command?.options },
      allowPositionals: true,
      strict: true,
    });
    debug = values.debug === true;
    if (values.help || !command) {
      if (!command && !values.help) throw new UsageError("no command given");
      io.stdout(usage(name));
      return 0;
    }
    const required = command.positionals.length - (command.optional ?? 0);
    if (positionals.length < required || positionals.length > command.positionals.length) {
      throw new UsageError(`${name} takes ${command.positionals.map((p) => `<${p}>`).join(" ")}`);
    }
    const organization = (values.org as string | undefined) ?? io.env.PLANETSCALE_ORG;
    if (!organization) throw new UsageError("--org is required (or set PLANETSCALE_ORG)");
    const format = (values.format as string | undefined) ?? "human";
    if (!["human", "json", "env"].includes(format))
      throw new UsageError(`--format must be human, json or env, not ${format}`);
    const args: Record<string, string | undefined> = { organization };
    command.positionals.forEach((p, i) => {
      args[p] = positionals[i];
    });
    const ps = createClient(clientOptions(values, io.env));
    const result = await command.run(ps, args, values, io);
    printResult(
      name as string,
      result,
      format as OutputFormat,
      { ...args, organization },
      io,
      command.credentials === true,
    );
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`planetscale-roles: ${(error as Error).message}\n\n${usage(command ? name : undefined)}`);
      return 2;
    }
    if (error instanceof Cancelled) {
      io.stderr(`planetscale-roles: ${error.message}`);
      return 1;
    }
    if (error instanceof InvalidRequestError) {
      io.stderr(`planetscale-roles: ${error.message}${debug ? `\n${error.stack}` : ""}`);
      return 2;
    }
    if (error instanceof PlanetScaleError) {
      io.stderr(`planetscale-roles: ${error.message}${debug ? `\n${error.stack}` : ""}`);
      return 1;
    }
    io.stderr(`planetscale-roles: unexpected failure: ${(error as Error)?.message ?? String(error)}`);
    if (debug) io.stderr(String((error as Error)?.stack));
    return 1;
  }
}
