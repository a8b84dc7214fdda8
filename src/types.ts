// Public types, derived from the generated ones so that a regenerate is enough to follow the API.
import type { operations as Operations } from "./generated/openapi.ts";
import type { OperationId } from "./generated/operations.ts";

type Present<T> = [NonNullable<T>] extends [never] ? unknown : NonNullable<T>;
type JsonRequestBody<Op> = Op extends { requestBody?: { content: { "application/json": infer Body } } }
  ? Body
  : unknown;
type JsonSuccessBody<Op> = Op extends { responses: { 200: { content: { "application/json": infer Body } } } }
  ? Body
  : undefined;

/** Path parameters, query parameters and body fields of an operation, in one object, with the spec's names. */
export type OperationParams<Id extends OperationId> = Operations[Id]["parameters"]["path"] &
  Present<Operations[Id]["parameters"]["query"]> &
  JsonRequestBody<Operations[Id]>;

/** The spec's 200 body for an operation; undefined for the ones that answer 204. */
export type OperationResult<Id extends OperationId> = JsonSuccessBody<Operations[Id]>;

export type CreateRoleParams = OperationParams<"create_role">;
export type ListRolesParams = OperationParams<"list_roles">;
export type GetRoleParams = OperationParams<"get_role">;
export type UpdateRoleParams = OperationParams<"update_role">;
export type DeleteRoleParams = OperationParams<"delete_role">;
export type RenewRoleParams = OperationParams<"renew_role">;
export type ResetRoleParams = OperationParams<"reset_role">;
export type ReassignRoleObjectsParams = OperationParams<"reassign_role_objects">;
export type GetDefaultRoleParams = OperationParams<"get_default_role">;
export type ResetDefaultRoleParams = OperationParams<"reset_default_role">;

/** A role with its credentials, as create_role returns it (the password is only ever filled in here and by reset). */
export type Role = OperationResult<"create_role">;
export type RolePage = OperationResult<"list_roles">;
export type DefaultRoleCredentials = OperationResult<"reset_default_role">;
export type InheritedRole = NonNullable<CreateRoleParams["inherited_roles"]>[number];

export interface RequestOptions {
  /** Aborts the call, including any wait between attempts. */
  signal?: AbortSignal;
  /** Deadline for each attempt, in milliseconds. */
  timeoutMs?: number;
  /** Overrides the client's maxRetries for this call. */
  maxRetries?: number;
}

/** One line of the debug log: never a header, a token or a body. */
export interface RequestLogEvent {
  operation: string;
  method: string;
  /** Path and query string, without the host. */
  path: string;
  attempt: number;
  durationMs: number;
  status?: number;
  requestId?: string;
  /** The error class when the attempt ended without an answer or with an error. */
  error?: string;
}
