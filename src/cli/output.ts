// How the command prints results: human (for a terminal), json (the API's answer) or env (lines
// for a .env file or `source`). Only the result goes to stdout.
import { type ConnectableRole, connectionString } from "../connection-string.ts";

export type OutputFormat = "human" | "json" | "env";

interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

type Row = Record<string, unknown>;

function hasCredentials(
  result: unknown,
): result is Row & { username: string; password: string; access_host_url: string } {
  const row = result as Row | undefined;
  return typeof row?.password === "string" && row.password !== "" && typeof row.username === "string";
}

// PlanetScale Postgres branches serve the "postgres" database; reset-default does not say which.
function connectable(role: Row & { username: string; password: string; access_host_url: string }): ConnectableRole {
  return { ...role, database_name: typeof role.database_name === "string" ? role.database_name : "postgres" };
}

/**
 * Single quotes: `source` and dotenv both take everything inside literally. A value holding a
 * single quote cannot be written so that both read it the same; the shell form is written and
 * the caller warned (DATABASE_URL never holds one: connectionString encodes it).
 */
export function quoteEnvValue(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function envLines(role: Row & { username: string; password: string; access_host_url: string }): string[] {
  const target = connectable(role);
  const url = new URL(connectionString(target));
  const values: [string, string][] = [
    ["PGHOST", url.hostname],
    ["PGPORT", url.port || "5432"],
    ["PGUSER", role.username],
    ["PGPASSWORD", role.password],
    ["PGDATABASE", target.database_name],
    ["PGSSLMODE", "verify-full"],
    ["DATABASE_URL", url.toString()],
  ];
  return values.map(([key, value]) => `${key}=${quoteEnvValue(value)}`);
}

function fieldLines(row: Row, keys: string[]): string[] {
  const shown = keys.filter((key) => row[key] !== undefined);
  const width = Math.max(...shown.map((key) => key.length)) + 2;
  return shown.map((key) => {
    const value = row[key];
    const text = Array.isArray(value) ? value.join(", ") || "(none)" : value === null ? "(none)" : String(value);
    return `  ${key.padEnd(width)}${text}`;
  });
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

function human(command: string, result: unknown, where: string, credentials: boolean): string {
  if (result === undefined) return `${command}: done on ${where}.`;
  const row = (Array.isArray(result) ? { data: result } : result) as Row;
  if (Array.isArray(row.data)) {
    const roles = row.data as Row[];
    const header = ["NAME", "ID", "USERNAME", "EXPIRES"];
    const rows = roles.map((r) => [r.name, r.id, r.username, r.expires_at ?? "never"].map(String));
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
    const line = (cells: string[]) =>
      cells
        .map((c, i) => c.padEnd(widths[i] as number))
        .join("  ")
        .trimEnd();
    const page = row.next_page ? `\n(more: --page ${String(row.next_page)}, or --all)` : "";
    return `${[line(header), ...rows.map(line)].join("\n")}\n${roles.length} role(s) on ${where}.${page}`;
  }
  if (credentials && hasCredentials(result)) {
    return [
      `Credentials for ${String(row.name ?? row.username)} on ${where}.`,
      "WARNING: the password is shown only this once. PlanetScale cannot show it again: store it now.",
      "",
      ...fieldLines(row, ROLE_FIELDS),
      "",
      `DATABASE_URL=${connectionString(connectable(result))}`,
    ].join("\n");
  }
  return fieldLines(
    row,
    ROLE_FIELDS.filter((key) => key !== "password"),
  ).join("\n");
}

export function printResult(
  command: string,
  result: unknown,
  format: OutputFormat,
  args: Record<string, string | undefined>,
  io: Io,
  credentials: boolean,
): void {
  const where = [args.organization, args.database, args.branch].join("/");
  if (format === "json") {
    io.stdout(JSON.stringify(result ?? { ok: true }, null, 2));
  } else if (format === "env") {
    if (!credentials || !hasCredentials(result)) {
      // The command ran; there is just nothing to write as env lines.
      io.stderr(`planetscale-roles: ${command} returns no credentials; --format env printed nothing.`);
      return;
    }
    if (result.password.includes("'")) {
      io.stderr(
        "planetscale-roles: PGPASSWORD holds a single quote: `source` reads it right, dotenv does not; use DATABASE_URL.",
      );
    }
    io.stdout(envLines(result).join("\n"));
  } else {
    io.stdout(human(command, result, where, credentials));
  }
}
