// A libpq/node-postgres connection URL for a role's credentials.
import { InvalidRequestError } from "./errors.ts";
import { printable } from "./secrets.ts";
import type { Role } from "./types.ts";

export interface ConnectionStringOptions {
  /** Use the role's private_access_host_url (private connectivity) instead of access_host_url. */
  private?: boolean;
  /** Database name; default the role's database_name. */
  database?: string;
  /** Port (1 to 65535) when the host does not name one; default 5432. */
  port?: number;
  /** libpq sslmode; default verify-full (PlanetScale always serves TLS with a public certificate). */
  sslmode?: "disable" | "allow" | "prefer" | "require" | "verify-ca" | "verify-full";
}

/** The fields of a role a connection needs (create_role's and reset_role's answers have them). */
export type ConnectableRole = Pick<Role, "username" | "password" | "access_host_url" | "database_name"> &
  Partial<Pick<Role, "private_access_host_url">>;

// A misspelt option (`sslmod`) would otherwise be dropped and the default used without a word.
const OPTIONS = ["private", "database", "port", "sslmode"];
// The modes libpq knows; any other is refused by the driver only at connect time, far from the typo.
// A literal list, which a bundle of createRole drops (a call made at load would stay in it).
const SSL_MODES: readonly string[] = [
  "disable",
  "allow",
  "prefer",
  "require",
  "verify-ca",
  "verify-full",
] satisfies NonNullable<ConnectionStringOptions["sslmode"]>[];

// host, host:port, [IPv6] or [IPv6]:port, after a scheme:// if any, and a root / at most: a path,
// query, fragment or user would be dropped (the URL would name another place), and a port with a
// leading 0 is read as another number by some parsers. A bare IPv6 address cannot be told from a
// host and port, and the characters refused in a name would end the URL's authority (or start another part).
const HOST_PORT =
  /^(?:[A-Za-z][A-Za-z0-9+.-]*:\/\/)?((?:\[[0-9A-Fa-f:.]+\]|[^\s@/?#:[\]\\%]+)(?::([1-9]\d{0,4}))?)\/?$/;

function refuse(field: string, allowed: string, got?: unknown): never {
  const shown = got === undefined ? "" : `; got ${printable(JSON.stringify(got))}`;
  throw new InvalidRequestError(`connectionString: ${field} must be ${allowed}${shown}`, { field });
}

// encodeURIComponent leaves !'()* alone; a userinfo part must not carry them raw for every parser
// (and a ' would break the quoting of DATABASE_URL in shell files), so they are encoded too.
export function encodeComponent(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The host and port to connect to: `host:port`, the host's own port kept (as written: new URL
 * would drop https's 443), else `port`. The spec calls it a "connection string"; the API sends a
 * bare host, but a URL of nothing but a host is accepted too.
 */
function hostPort(raw: string, field: string, port: number): string {
  const match = HOST_PORT.exec(raw.trim());
  const [, host = "", ownPort] = match ?? [];
  if (!match || Number(ownPort) > 65535) {
    // What precedes an @ is a URL's user and password: never repeated.
    const allowed =
      "a host name or address, with a port from 1 to 65535 (no leading 0) if any, and nothing else: no path, query or user (host, host:port, [IPv6]:port)";
    refuse(field, allowed, raw.replace(/^[\s\S]*@/, "…@"));
  }
  return ownPort === undefined ? `${host}:${port}` : host;
}

function checkOptions(options: unknown): ConnectionStringOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    refuse("options", `an object of ${OPTIONS.join(", ")}`);
  }
  const unknown = Object.keys(options).find((key) => !OPTIONS.includes(key));
  if (unknown !== undefined) refuse(`options.${unknown}`, `left out: the options are ${OPTIONS.join(", ")}`);
  const { private: usePrivate, database, port, sslmode } = options as Record<string, unknown>;
  if (usePrivate !== undefined && typeof usePrivate !== "boolean") refuse("private", "true or false", usePrivate);
  if (database !== undefined && (typeof database !== "string" || database === "")) {
    refuse("database", "a non-empty string", database);
  }
  if (port !== undefined && !(Number.isInteger(port) && (port as number) >= 1 && (port as number) <= 65535)) {
    refuse("port", "an integer from 1 to 65535", port);
  }
  if (sslmode !== undefined && !SSL_MODES.includes(sslmode as string)) {
    refuse("sslmode", `one of ${SSL_MODES.join(", ")}`, sslmode);
  }
  return options;
}

/** `postgresql://user:pass@host:5432/db?sslmode=verify-full`, every part encoded. */
export function connectionString(role: ConnectableRole, options: ConnectionStringOptions = {}): string {
  if (typeof role !== "object" || role === null) {
    refuse("role", "a role object (username, password, access_host_url, database_name)");
  }
  const {
    private: usePrivate,
    port = 5432,
    database = role.database_name,
    sslmode = "verify-full",
  } = checkOptions(options);
  const field = usePrivate ? "private_access_host_url" : "access_host_url";
  const rawHost = usePrivate ? role.private_access_host_url : role.access_host_url;
  if (typeof rawHost !== "string") {
    throw new InvalidRequestError(`connectionString: the role has no ${field}`, { field });
  }
  for (const key of ["username", "password", "database_name"] as const) {
    if (typeof role[key] !== "string" || role[key] === "") {
      throw new InvalidRequestError(`connectionString: the role has no ${key}`, { field: key });
    }
  }
  const where = hostPort(rawHost, field, port);
  return `postgresql://${encodeComponent(role.username)}:${encodeComponent(role.password)}@${where}/${encodeComponent(database)}?sslmode=${sslmode}`;
}
