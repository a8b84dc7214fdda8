// Credentials as environment variables, in the two file formats their readers need:
//   env         `export KEY='value'`: bash `source` sets and exports it (so psql, started from
//               that shell, sees it); dotenv reads it too (it skips `export`, takes '…' literally).
//   docker-env  `KEY=value`: `docker run --env-file` takes everything after the first = literally
//               (quotes included) and knows no `export`, so it needs lines of its own.
import { type ConnectableRole, connectionString } from "../connection-string.ts";
import { hasControl } from "./terminal.ts";

export type EnvFormat = "env" | "docker-env";

export type Credentials = Record<string, unknown> & { username: string; password: string };

/** A value no env format can carry as is; the caller prints the answer as JSON instead. */
export class UnwritableValueError extends Error {}

// PlanetScale Postgres branches serve the "postgres" database; reset-default does not say which.
export function connectable(role: Credentials): ConnectableRole {
  return {
    ...(role as ConnectableRole),
    database_name: typeof role.database_name === "string" ? role.database_name : "postgres",
  };
}

export function envVariables(role: Credentials): [string, string][] {
  const target = connectable(role);
  const url = new URL(connectionString(target));
  return [
    ["PGHOST", url.hostname],
    ["PGPORT", url.port || "5432"],
    ["PGUSER", role.username],
    ["PGPASSWORD", role.password],
    ["PGDATABASE", target.database_name],
    ["PGSSLMODE", "verify-full"],
    ["DATABASE_URL", url.toString()],
  ];
}

/**
 * Single quotes: `source` and dotenv both take everything inside literally. A value holding a
 * single quote cannot be written so that both read it the same; the shell form is written and
 * the caller warned (DATABASE_URL never holds one: connectionString encodes it).
 */
export function quoteEnvValue(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// A lone surrogate cannot be written as UTF-8: it would arrive as U+FFFD, another password.
const LONE_SURROGATE = /\p{Surrogate}/u;

/** The lines of an env file, and notes for stderr. */
export function envFile(role: Credentials, format: EnvFormat): { lines: string[]; notes: string[] } {
  const variables = envVariables(role);
  for (const [key, value] of variables) {
    // A line break would end the line (and start another variable); the rest would reach a terminal raw.
    const what = hasControl(value) ? "a control character" : LONE_SURROGATE.test(value) ? "a lone surrogate" : "";
    if (what) throw new UnwritableValueError(`${key} holds ${what}, which --format ${format} cannot write safely`);
  }
  if (format === "docker-env") return { lines: variables.map(([key, value]) => `${key}=${value}`), notes: [] };
  const notes = role.password.includes("'")
    ? ["PGPASSWORD holds a single quote: `source` reads it right, dotenv does not; use DATABASE_URL with dotenv."]
    : [];
  return { lines: variables.map(([key, value]) => `export ${key}=${quoteEnvValue(value)}`), notes };
}
