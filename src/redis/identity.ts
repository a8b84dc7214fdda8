// Whose budget a limiter keeps. The API counts requests per set of credentials, so a limiter that
// is not given a key names its budget after the credentials of the client it serves: after a hash
// of them, which the client computes, so that the limiter never holds the token itself.
import { createHash } from "node:crypto";

/** The budget of a limiter that was given no key and that no client has bound. */
export const DEFAULT_KEY = "planetscale-roles:rate-limit";

const IDENTITY = /^[0-9a-f]{64}$/;

/** The fingerprint a client binds its limiter with: the hex SHA-256 of its Authorization header value. */
export function credentialsIdentity(authorization: string): string {
  return createHash("sha256").update(authorization).digest("hex");
}

export function isIdentity(value: unknown): value is string {
  return typeof value === "string" && IDENTITY.test(value);
}

/**
 * The budget of one set of credentials: 64 bits of its fingerprint, in a hash tag so that every key
 * of one budget lands in one slot of a Redis Cluster should a script ever touch more than one.
 */
export function budgetKey(identity: string): string {
  return `${DEFAULT_KEY}:{${identity.slice(0, 16)}}`;
}
