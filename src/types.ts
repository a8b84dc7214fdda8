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

/** The member of `Names` that has exactly the shape of `Body` (each assignable to the other), else `Body`. */
type Named<Body, Names> = [ShapedAs<Body, Names>] extends [never] ? Body : ShapedAs<Body, Names>;
type ShapedAs<Body, Names> = Names extends unknown
  ? [Body] extends [Names]
    ? [Names] extends [Body]
      ? Names
      : never
    : never
  : never;

/** Path parameters, query parameters and body fields of an operation, in one object, with the spec's names. */
export type OperationParams<Id extends OperationId> = Operations[Id]["parameters"]["path"] &
  Present<Operations[Id]["parameters"]["query"]> &
  JsonRequestBody<Operations[Id]>;

/**
 * The spec's 200 body for an operation, under the name below that has its shape (so a hover shows
 * `Role` for get_role too); undefined for the ones that answer 204.
 */
export type OperationResult<Id extends OperationId> = Named<JsonSuccessBody<Operations[Id]>, NamedResult>;

// Params and results are interfaces rather than aliases so that hovers and error messages say `Role`
// instead of spelling out the body; each extends the generated type, so its fields and docs stay the spec's.
export interface CreateRoleParams extends OperationParams<"create_role"> {}
export interface ListRolesParams extends OperationParams<"list_roles"> {}
export interface GetRoleParams extends OperationParams<"get_role"> {}
export interface UpdateRoleParams extends OperationParams<"update_role"> {}
export interface DeleteRoleParams extends OperationParams<"delete_role"> {}
export interface RenewRoleParams extends OperationParams<"renew_role"> {}
export interface ResetRoleParams extends OperationParams<"reset_role"> {}
export interface ReassignRoleObjectsParams extends OperationParams<"reassign_role_objects"> {}
export interface GetDefaultRoleParams extends OperationParams<"get_default_role"> {}
export interface ResetDefaultRoleParams extends OperationParams<"reset_default_role"> {}

type RoleBody = JsonSuccessBody<Operations["create_role"]>;
type RolePageBody = JsonSuccessBody<Operations["list_roles"]>;

/** A role with its credentials; the password is filled in only by create_role and reset_role. */
export interface Role extends RoleBody {}
/** One page of list_roles; its roles have the shape of `Role`, with no password filled in. */
export interface RolePage extends RolePageBody {
  data: Named<RolePageBody["data"][number], Role>[];
}
/** The default role's new credentials, as reset_default_role returns them. */
export interface DefaultRoleCredentials extends JsonSuccessBody<Operations["reset_default_role"]> {}
type NamedResult = Role | RolePage | DefaultRoleCredentials;

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
