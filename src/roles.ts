// What the Roles resource needs beyond one request per call: every page of a list, a role that
// deletes itself, and the opt-in recovery of a create whose outcome is unknown.
import { AbortError, extendMessage, InvalidRequestError, PlanetScaleError, UnexpectedResponseError } from "./errors.ts";
import { type ClientContext, callOperation } from "./request.ts";
import { redactInspect } from "./secrets.ts";
import type { CreateRoleParams, ListRolesParams, RequestOptions, Role, RolePage } from "./types.ts";

export interface CreateRoleOptions extends RequestOptions {
  /**
   * When the create may have reached the server but no usable answer came back (5xx, a lost
   * connection, a timeout, or a 2xx that cannot be read): find the role of this `name` that this
   * attempt created, delete it (its password is lost), and create once more.
   */
  recoverAmbiguous?: boolean;
}

export type ListedRole = RolePage["data"][number];

/** Where a role lives and who it is, for messages about roles left behind. */
function describeRole(
  params: { organization: string; database: string; branch: string },
  role: { id: string; name?: string },
) {
  return `role ${role.name ? `${role.name} ` : ""}(id ${role.id}) on ${params.organization}/${params.database}/${params.branch}`;
}

export async function* listAllRoles(
  ctx: ClientContext,
  params: Omit<ListRolesParams, "page">,
  options?: RequestOptions,
): AsyncGenerator<ListedRole, void, undefined> {
  if ((params as { page?: unknown }).page !== undefined) {
    throw new InvalidRequestError("list_roles: listAllRoles starts at page 1 and follows next_page; do not pass page", {
      operation: "list_roles",
      field: "page",
    });
  }
  let page = 1;
  for (;;) {
    const result = await callOperation(ctx, "list_roles", { ...params, page }, options);
    for (const role of result.data ?? []) yield redactInspect(role);
    const next = result.next_page;
    if (next === null || next === undefined) return;
    // A next_page that does not move forward would loop for ever.
    if (!Number.isSafeInteger(next) || next <= page) {
      throw new UnexpectedResponseError(`list_roles answered page ${page} with next_page ${String(next)}`, {
        operation: "list_roles",
        body: JSON.stringify({ current_page: result.current_page, next_page: next }),
      });
    }
    page = next;
  }
}

export async function createTemporaryRole<T>(
  ctx: ClientContext,
  params: CreateRoleParams,
  use: (role: Role) => Promise<T> | T,
  options?: RequestOptions,
): Promise<T> {
  if (typeof use !== "function") {
    throw new InvalidRequestError("create_role: createTemporaryRole needs a function to hand the role to", {
      operation: "create_role",
      field: "fn",
    });
  }
  const role = await callOperation(ctx, "create_role", params, options);
  let result: T | undefined;
  let failure: { error: unknown } | undefined;
  try {
    result = await use(role);
  } catch (error) {
    failure = { error };
  }
  try {
    // Cleanup runs even when the caller's signal fired: that is what makes the role temporary.
    await callOperation(ctx, "delete_role", { ...pick(params), id: role.id }, { ...options, signal: undefined });
  } catch (deleteError) {
    const after = failure
      ? ` (after the callback failed: ${(failure.error as Error)?.message ?? String(failure.error)})`
      : "";
    throw new PlanetScaleError(
      `${describeRole(params, role)} was left behind: deleting it failed: ${(deleteError as Error).message}${after}. ` +
        `Delete it with deleteRole({ organization, database, branch, id: "${role.id}" }).`,
      { operation: "delete_role", cause: deleteError },
    );
  }
  if (failure) throw failure.error;
  return result as T;
}

function pick(params: { organization: string; database: string; branch: string }) {
  return { organization: params.organization, database: params.database, branch: params.branch };
}

// How far the server's clock may be behind ours when judging which role this attempt created.
const CLOCK_SKEW_MS = 5 * 60_000;

export async function createRoleWithRecovery(
  ctx: ClientContext,
  params: CreateRoleParams,
  options: CreateRoleOptions = {},
): Promise<Role> {
  const { recoverAmbiguous, ...requestOptions } = options;
  if (!recoverAmbiguous) return callOperation(ctx, "create_role", params, requestOptions);
  if (typeof params?.name !== "string" || params.name.trim() === "") {
    throw new InvalidRequestError(
      "create_role: recoverAmbiguous needs a name, to find the role a lost answer created",
      {
        operation: "create_role",
        field: "name",
      },
    );
  }
  const startedAt = Date.now();
  try {
    return await callOperation(ctx, "create_role", params, requestOptions);
  } catch (error) {
    // A 2xx whose body is unusable created a role nobody can use: as good as a lost answer.
    const unusable =
      error instanceof UnexpectedResponseError && (error.status ?? 0) >= 200 && (error.status ?? 0) < 300;
    const ambiguous = error instanceof PlanetScaleError && error.outcomeUnknown && !(error instanceof AbortError);
    if (!unusable && !ambiguous) throw error;
    await removeOrphans(ctx, params, startedAt, requestOptions, error);
  }
  // The first create left nothing behind: one more, and its own failure is final.
  return callOperation(ctx, "create_role", params, requestOptions);
}

async function removeOrphans(
  ctx: ClientContext,
  params: CreateRoleParams,
  startedAt: number,
  options: RequestOptions,
  original: PlanetScaleError,
): Promise<void> {
  const where = pick(params);
  const orphans: ListedRole[] = [];
  try {
    for await (const role of listAllRoles(ctx, { ...where, q: params.name }, options)) {
      const created = Date.parse(role.created_at);
      if (role.name === params.name && !(created < startedAt - CLOCK_SKEW_MS)) orphans.push(role);
    }
  } catch (listError) {
    extendMessage(original, `. Recovery could not list the roles to check: ${(listError as Error).message}`);
    throw original;
  }
  for (const orphan of orphans) {
    try {
      await callOperation(ctx, "delete_role", { ...where, id: orphan.id }, options);
    } catch (deleteError) {
      throw new PlanetScaleError(
        `create_role's answer was lost (${original.message}); recovery found ${describeRole(params, orphan)} ` +
          `but could not delete it, so it is left behind with a password nobody has: ${(deleteError as Error).message}`,
        { operation: "create_role", outcomeUnknown: false, cause: deleteError },
      );
    }
  }
}
