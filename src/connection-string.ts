// A libpq/node-postgres connection URL for a role's credentials.
import { InvalidRequestError } from "./errors.ts";
import type { Role } from "./types.ts";

export interface ConnectionStringOptions {
  /** Use the role's private_access_host_url (private connectivity) instead of access_host_url. */
  private?: boolean;
  /** Database name; default the role's database_name. */
  database?: string;
  /** Port when the host does not name one; default 5432. */
  port?: number;
  /** libpq sslmode; default verify-full (PlanetScale always serves TLS with a public certificate). */
  sslmode?: "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";
}

/** The fields of a role a connection needs (create_role's and reset_role's answers have them). */
export type ConnectableRole = Pick<Role, "username" | "password" | "access_host_url" | "database_name"> &
  Partial<Pick<Role, "private_access_host_url">>;

// encodeURIComponent leaves !'()* alone; a userinfo part must not carry them raw for every parser
// (and a ' would break the quoting of DATABASE_URL in shell files), so they are encoded too.
export function encodeComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function hostOf(raw: string, field: string): string {
  const trimmed = raw.trim();
  // The spec calls it a "connection string"; the API sends a bare host, but a URL is accepted too.
  const host = trimmed.includes("://") ? new URL(trimmed).host : trimmed.replace(/\/.*$/, "");
  if (host === "" || /[\s@/?#]/.test(host)) {
    throw new InvalidRequestError(`connectionString: ${field} is not a host name: ${JSON.stringify(raw)}`, { field });
  }
  return host;
}

/** `postgresql://user:pass@host:5432/db?sslmode=verify-full`, every part encoded. */
export function connectionString(role: ConnectableRole, options: ConnectionStringOptions = {}): string {
  const field = options.private ? "private_access_host_url" : "access_host_url";
  const rawHost = options.private ? role.private_access_host_url : role.access_host_url;
  if (typeof rawHost !== "string") {
    throw new InvalidRequestError(`connectionString: the role has no ${field}`, { field });
  }
  for (const key of ["username", "password", "database_name"] as const) {
    if (typeof role[key] !== "string" || role[key] === "") {
      throw new InvalidRequestError(`connectionString: the role has no ${key}`, { field: key });
    }
  }
  const host = hostOf(rawHost, field);
  // A host that already names a port ("host:6432", "[::1]:6432") keeps it.
  const hasPort = /:\d+$/.test(host) && (!host.startsWith("[") || host.includes("]:"));
  const hostPort = hasPort ? host : `${host}:${options.port ?? 5432}`;
  const database = options.database ?? role.database_name;
  const sslmode = options.sslmode ?? "verify-full";
  return `postgresql://${encodeComponent(role.username)}:${encodeComponent(role.password)}@${hostPort}/${encodeComponent(database)}?sslmode=${sslmode}`;
}
