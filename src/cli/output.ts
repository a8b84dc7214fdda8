// How the command prints results: human (for a terminal), json (the API's answer), env and
// docker-env (lines for `source`, dotenv or `docker run --env-file`; see env-file.ts). Only the
// result goes to stdout; notes go to stderr.
import { connectionString } from "../connection-string.ts";
import { type Credentials, connectable, envFile } from "./env-file.ts";
import { visible, visibleLines } from "./terminal.ts";

export const OUTPUT_FORMATS = ["human", "json", "env", "docker-env"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** What to print: the result for stdout (absent when there is none) and notes for stderr. */
export interface Output {
  text?: string;
  notes: string[];
}

type Row = Record<string, unknown>;

export function hasCredentials(result: unknown): result is Credentials {
  const row = result as Row | undefined;
  return typeof row?.password === "string" && row.password !== "" && typeof row.username === "string";
}

/** A value as JSON: exact, and safe on a terminal (see visibleLines). */
export function jsonText(value: unknown): string {
  return visibleLines(JSON.stringify(value ?? { ok: true }, null, 2));
}

/** An answer the client could not use: its JSON when it parses, else its text, control characters escaped. */
export function rawText(body: string): string {
  try {
    return jsonText(JSON.parse(body));
  } catch {
    return visibleLines(body);
  }
}

// A role's only secret field in the spec ("the plaintext password, available only after create").
const SECRET_FIELDS = new Set(["password"]);

/**
 * The answer as the command prints it: the secret fields taken out, at any depth (a page's roles
 * too), unless the command hands out credentials and the answer has them. PlanetScale sends ""
 * where it shows no password, but a proxy or an API fault could send one: get says "never its password".
 */
function shownPart(result: unknown, credentials: boolean): unknown {
  if (result === undefined || (credentials && hasCredentials(result))) return result;
  return JSON.parse(JSON.stringify(result, (key, value) => (SECRET_FIELDS.has(key) ? undefined : value)));
}

function cell(value: unknown): string {
  if (Array.isArray(value)) return visible(value.map(String).join(", ")) || "(none)";
  if (value === null) return "(none)";
  return visible(typeof value === "object" ? JSON.stringify(value) : String(value));
}

function fieldLines(row: Row, keys: string[]): string[] {
  const shown = keys.filter((key) => row[key] !== undefined);
  const width = Math.max(...shown.map((key) => key.length)) + 2;
  return shown.map((key) => `  ${key.padEnd(width)}${cell(row[key])}`);
}

const ROLE_FIELDS = [
  "id",
  "name",
  "username",
  "password",
  "access_host_url",
  "database_name",
  "expires_at",
  "ttl",
  "inherited_roles",
  "with_replication",
];

function table(page: Row, where: string): string {
  const roles = page.data as Row[];
  const header = ["NAME", "ID", "USERNAME", "EXPIRES"];
  const rows = roles.map((role) => [role.name, role.id, role.username, role.expires_at ?? "never"].map(cell));
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((text, i) => text.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  const more = page.next_page ? `\n(more: --page ${cell(page.next_page)}, or --all)` : "";
  return `${[line(header), ...rows.map(line)].join("\n")}\n${roles.length} role(s) on ${where}.${more}`;
}

function credentialsText(role: Credentials, where: string): Output {
  const text = [
    `Credentials for ${cell(role.name ?? role.username)} on ${where}.`,
    "",
    ...fieldLines(role, ROLE_FIELDS),
    "",
    // connectionString percent-encodes every part, so this line carries the exact password.
    `DATABASE_URL=${visible(connectionString(connectable(role)))}`,
  ].join("\n");
  const escaped = visible(role.password) !== role.password || visible(role.username) !== role.username;
  const notes = escaped
    ? [
        "the password or username holds control characters, shown escaped; DATABASE_URL and --format json carry them exactly.",
      ]
    : [];
  return { text, notes };
}

/** What the command was asked to print, beside the API's answer. */
export interface ResultContext {
  command: string;
  args: Record<string, string | undefined>;
  /** The command returns credentials (a one-time password). */
  credentials: boolean;
  /** The line for an answer with no body, naming what was acted on. */
  done?: ((where: string) => string) | undefined;
}

function human(result: unknown, where: string, context: ResultContext): Output {
  const { command, credentials, done } = context;
  if (result === undefined) return { text: done ? done(where) : `${command}: done on ${where}.`, notes: [] };
  const row = (Array.isArray(result) ? { data: result } : result) as Row;
  if (Array.isArray(row.data)) return { text: table(row, where), notes: [] };
  if (credentials && hasCredentials(result)) return credentialsText(result, where);
  return { text: fieldLines(row, ROLE_FIELDS).join("\n"), notes: [] };
}

/** The result in the chosen format; throws when it cannot be written so (the caller falls back to JSON). */
export function formatResult(result: unknown, format: OutputFormat, context: ResultContext): Output {
  const { command, args, credentials } = context;
  const shown = shownPart(result, credentials);
  if (format === "json") return { text: jsonText(shown), notes: [] };
  const where = visible([args.organization, args.database, args.branch].join("/"));
  if (format === "human") return human(shown, where, context);
  if (!credentials || !hasCredentials(result)) {
    // The command ran; there is just nothing to write as env lines.
    return { notes: [`${command} returns no credentials; --format ${format} printed nothing.`] };
  }
  const { lines, notes } = envFile(result, format);
  return { text: lines.join("\n"), notes };
}
