// The subcommands: their arguments, options, and the one library call each makes.
import type { PlanetScaleClient } from "../client.ts";
import { operations } from "../generated/operations.ts";
import { INHERITED_ROLES } from "../validate.ts";
import { parseDuration } from "./duration.ts";
import { Cancelled, UsageError } from "./failures.ts";
import { OUTPUT_FORMATS, type OutputFormat } from "./output.ts";
import { visible } from "./terminal.ts";

export type Values = Record<string, string | boolean | undefined>;
export type Args = Record<string, string | undefined>;

export interface OptionSpec {
  type: "string" | "boolean";
  help: string;
  /** A one-letter form: -h for --help. */
  short?: string;
  /** Other long names for the option, as pscale spells them: --api-url for --base-url. */
  aliases?: string[];
}

export interface CommandIo {
  /** Asks on stderr and resolves to the line typed (empty when input ends). */
  prompt: (question: string) => Promise<string>;
  /** Aborts, with an Interrupted reason, when the process is told to stop: every call takes it. */
  signal?: AbortSignal | undefined;
}

export interface Command {
  summary: string;
  positionals: string[];
  /** Trailing positionals that may be left out. */
  optional?: number;
  options: Record<string, OptionSpec>;
  /** The answer carries a one-time password: shown once, with the warning, and available as env lines. */
  credentials?: true;
  /** What the human format says when the API answered with no body: the role acted on. */
  done?: (args: Args, values: Values, where: string) => string;
  run(ps: PlanetScaleClient, args: Args, values: Values, io: CommandIo): Promise<unknown>;
}

/** The formats a command can print: env lines only where the answer carries credentials. */
export function formatsOf(command: Command | undefined): readonly OutputFormat[] {
  return !command || command.credentials ? OUTPUT_FORMATS : ["human", "json"];
}

export const formatHelp = (formats: readonly string[]) => `${formats.join(" | ")} (default human)`;

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  org: { type: "string", help: "organization (default: PLANETSCALE_ORG)" },
  format: { type: "string", short: "f", help: formatHelp(OUTPUT_FORMATS) },
  "base-url": {
    type: "string",
    aliases: ["api-url"],
    help: "API base URL (default: PLANETSCALE_API_URL or https://api.planetscale.com/v1)",
  },
  "service-token-id": { type: "string", help: "service token id (prefer PLANETSCALE_SERVICE_TOKEN_ID)" },
  "service-token": {
    type: "string",
    help: "service token (prefer PLANETSCALE_SERVICE_TOKEN: argv is visible to other users)",
  },
  "access-token": { type: "string", help: "OAuth access token (prefer PLANETSCALE_ACCESS_TOKEN)" },
  debug: { type: "boolean", help: "log each request on stderr and print stack traces" },
  help: { type: "boolean", short: "h", help: "show help" },
};

function ttlOf(values: Values): number | undefined {
  if (typeof values.ttl !== "string") return undefined;
  const seconds = parseDuration(values.ttl);
  if (seconds instanceof Error) throw new UsageError(`--ttl: ${seconds.message}`, { usage: false });
  return seconds;
}

function wholeNumberOf(values: Values, option: string): number | undefined {
  const text = values[option];
  if (typeof text !== "string") return undefined;
  const number = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(number) || number < 1) {
    throw new UsageError(`--${option} must be a whole number of 1 or more, not ${JSON.stringify(text)}`, {
      usage: false,
    });
  }
  return number;
}

function stringOf(value: string | boolean | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function listOf(value: string | boolean | undefined): string[] | undefined {
  if (typeof value !== "string") return undefined;
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

const WHERE_OPTIONS: Record<string, OptionSpec> = {
  "require-where-on-delete": { type: "string", help: "off | warn | on: require WHERE on DELETE" },
  "require-where-on-update": { type: "string", help: "off | warn | on: require WHERE on UPDATE" },
};

type BranchArgs = { organization: string; database: string; branch: string };
type RoleArgs = BranchArgs & { id: string };
const branchOf = (args: Args) => args as BranchArgs;
const roleOf = (args: Args) => args as RoleArgs;

export const COMMANDS: Record<string, Command> = {
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
    run: (ps, args, values, { signal }) =>
      ps.createRole(
        {
          ...branchOf(args),
          name: args.name,
          ttl: ttlOf(values),
          inherited_roles: listOf(values["inherited-roles"]) as never,
          with_replication: values["with-replication"] === true ? true : undefined,
        },
        { signal },
      ),
  },
  list: {
    summary: "List roles (one page, or every page with --all)",
    positionals: ["database", "branch"],
    options: {
      all: { type: "boolean", help: "follow every page" },
      page: { type: "string", help: "page number (default 1)" },
      "per-page": { type: "string", help: "roles per page (default 25)" },
      q: { type: "string", help: "search by name or username" },
      status: {
        type: "string",
        help: `filter by status, one of: ${operations.list_roles.query.status.enum.join(", ")}`,
      },
    },
    run: async (ps, args, values, { signal }) => {
      const filters = {
        ...branchOf(args),
        q: stringOf(values.q),
        // Any text: the client refuses a status outside the spec's list, naming the list.
        status: stringOf(values.status) as never,
        per_page: wholeNumberOf(values, "per-page"),
      };
      if (!values.all) return ps.listRoles({ ...filters, page: wholeNumberOf(values, "page") }, { signal });
      if (values.page !== undefined) throw new UsageError("--all and --page do not go together");
      const roles = [];
      for await (const role of ps.listAllRoles(filters, { signal })) roles.push(role);
      return roles;
    },
  },
  get: {
    summary: "Show a role (never its password)",
    positionals: ["database", "branch", "id"],
    options: {},
    run: (ps, args, _values, { signal }) => ps.getRole(roleOf(args), { signal }),
  },
  update: {
    summary: "Rename a role or change its query-safety settings",
    positionals: ["database", "branch", "id"],
    options: { name: { type: "string", help: "new name" }, ...WHERE_OPTIONS },
    run: (ps, args, values, { signal }) =>
      ps.updateRole(
        {
          ...roleOf(args),
          name: stringOf(values.name),
          require_where_on_delete: stringOf(values["require-where-on-delete"]) as never,
          require_where_on_update: stringOf(values["require-where-on-update"]) as never,
        },
        { signal },
      ),
  },
  renew: {
    summary: "Renew a role's expiration",
    positionals: ["database", "branch", "id"],
    options: {},
    run: (ps, args, _values, { signal }) => ps.renewRole(roleOf(args), { signal }),
  },
  reset: {
    summary: "Reset a role's password (the new one is shown once)",
    credentials: true,
    positionals: ["database", "branch", "id"],
    options: {},
    run: (ps, args, _values, { signal }) => ps.resetRole(roleOf(args), { signal }),
  },
  "reset-default": {
    summary: "Reset the branch's default credentials (asks first unless --force)",
    credentials: true,
    positionals: ["database", "branch"],
    options: { force: { type: "boolean", help: "do not ask for confirmation" } },
    run: async (ps, args, values, io) => {
      const where = visible(`${args.organization}/${args.database}/${args.branch}`);
      if (!values.force) {
        const answer = await io.prompt(
          `Reset the default credentials of ${where}? Everything using the current password stops working. Type "yes": `,
        );
        if (answer.trim().toLowerCase() !== "yes") throw new Cancelled(`reset-default cancelled; nothing was sent`);
      }
      return ps.resetDefaultRole(branchOf(args), { signal: io.signal });
    },
  },
  delete: {
    summary: "Delete a role",
    positionals: ["database", "branch", "id"],
    options: { successor: { type: "string", help: "role (id or username) to hand the role's objects to first" } },
    done: (args, values, where) => {
      const successor = typeof values.successor === "string" ? `; its objects now belong to ${values.successor}` : "";
      return visible(`Deleted role ${args.id} on `) + where + visible(`${successor}.`);
    },
    run: (ps, args, values, { signal }) =>
      ps.deleteRole({ ...roleOf(args), successor: stringOf(values.successor) }, { signal }),
  },
  reassign: {
    summary: "Hand the objects a role owns to another role",
    positionals: ["database", "branch", "id"],
    options: { successor: { type: "string", help: "role (id or username) that takes the objects (required)" } },
    done: (args, values, where) =>
      visible(`The objects of role ${args.id} on `) + where + visible(` now belong to ${values.successor}.`),
    run: (ps, args, values, { signal }) => {
      if (typeof values.successor !== "string") throw new UsageError("reassign needs --successor");
      return ps.reassignRoleObjects({ ...roleOf(args), successor: values.successor }, { signal });
    },
  },
};

export function commandNamed(name: string): Command | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

/** The arguments as the usage line writes them: `<database> <branch> [name]`. */
export function signature(command: Command): string {
  return command.positionals.map((_, index) => argumentLabel(command, index)).join(" ");
}

export function argumentLabel(command: Command, index: number): string {
  const name = command.positionals[index] as string;
  return index >= command.positionals.length - (command.optional ?? 0) ? `[${name}]` : `<${name}>`;
}
