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
  /** Headers added to this call's requests (tracing, for instance); never `Authorization`. */
  headers?: Record<string, string>;
}

/** What came back with a successful answer, for support (the request id) and rate-limit headers. */
export interface ResponseInfo<T> {
  /** What the method resolves to. */
  data: T;
  /** The HTTP answer: status, headers. Its body has been read already. */
  response: Response;
  /** From x-request-id (or request-id), when the server sent one. */
  requestId: string | undefined;
}

/**
 * What every Roles method returns: a Promise of its result, as always, with `withResponse()` for
 * when the answer's status, headers or request id are wanted too (as openai-node's APIPromise).
 */
export interface ResponsePromise<T> extends Promise<T> {
  withResponse(): Promise<ResponseInfo<T>>;
}

/** Told before each wait for a retry: why, and for how long. */
export interface RetryEvent {
  operation: string;
  /** The attempt that failed (1 for the first). */
  attempt: number;
  /** What the failed attempt ended in; its name says which kind (RateLimitError, ServerError, …). */
  error: Error;
  /** How long the call waits before it is sent again, in ms. */
  delayMs: number;
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
