export {
  type ClientOptions,
  createClient,
  createRole,
  DEFAULT_BASE_URL,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_TIMEOUT_MS,
  type PlanetScaleClient,
} from "./client.ts";
export { type ConnectableRole, type ConnectionStringOptions, connectionString } from "./connection-string.ts";
export type { ServiceToken } from "./credentials.ts";
export {
  AbortError,
  AuthenticationError,
  ConnectionError,
  InvalidRequestError,
  NotFoundError,
  PermissionDeniedError,
  PlanetScaleError,
  RateLimitError,
  RoleLeftBehindError,
  ServerError,
  TimeoutError,
  UnexpectedResponseError,
} from "./errors.ts";
export { createRateLimiter, type RateLimiter } from "./gate.ts";
export type { paths } from "./generated/openapi.ts";
export type { OperationId } from "./generated/operations.ts";
export type { Lease, LeaseOptions } from "./lease.ts";
export { formatLogEvent } from "./log.ts";
export { type OperationPolicy, operationPolicy } from "./retry.ts";
export type { CreateRoleOptions, ListedRole } from "./roles.ts";
export type * from "./types.ts";
export { INHERITED_ROLES } from "./validate.ts";
export { VERSION } from "./version.ts";
