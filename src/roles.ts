// What the Roles resource needs beyond one request per call: every page of a list, a role that
// deletes itself, and the opt-in recovery of a create whose outcome is unknown.
import { AbortError, extendMessage, InvalidRequestError, PlanetScaleError, UnexpectedResponseError } from "./errors.ts";
import { type ClientContext, callOperation, callWithResponse } from "./request.ts";
import { printable, redactInspect } from "./secrets.ts";
import type { CreateRoleParams, ListRolesParams, RequestOptions, ResponseInfo, Role, RolePage } from "./types.ts";
import { checkRequestOptions } from "./validate.ts";

export interface CreateRoleOptions extends RequestOptions {
  /**
   * When the create may have reached the server but no usable answer came back (5xx, a lost
   * connection, a timeout, or a 2xx that cannot be read): delete the role this attempt created, if
   * it did (its password is lost), and create once more. Each attempt uses a name of its own,
   * `<name>-<8 random characters>`, so that recovery can prove which role is its own.
   */
  recoverAmbiguous?: boolean;
}

export type ListedRole = RolePage["data"][number];

/** Where a role lives and who it is, for messages about roles left behind. */
function describeRole(
  params: { organization: string; database: string; branch: string },
  role: { id: string; name?: string },
) {
  // The name and id come from the server: escaped before they reach a message.
  const name = role.name ? `${printable(role.name)} ` : "";
  return `role ${name}(id ${printable(role.id)}) on ${params.organization}/${params.database}/${params.branch}`;
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
      `${describeRole(params, role)} was left behind: deleting it failed: ${(deleteError as Error).message.replace(/\.$/, "")}${after}. ` +
        `Delete it with deleteRole({ organization, database, branch, id: ${JSON.stringify(printable(role.id))} }).`,
      { operation: "delete_role", cause: deleteError },
    );
  }
  if (failure) throw failure.error;
  return result as T;
}

function pick(params: { organization: string; database: string; branch: string }) {
  return { organization: params.organization, database: params.database, branch: params.branch };
}

/**
 * The name one create attempt uses under recoverAmbiguous: the caller's name and eight random
 * characters. Nobody else can know it, so a role that carries it can only be this attempt's; a
 * role that merely shares the caller's name, made before or during the attempt, never matches.
 */
function attemptName(name: string): string {
  const random = crypto.getRandomValues(new Uint8Array(8));
  return `${name}-${Array.from(random, (byte) => (byte % 36).toString(36)).join("")}`;
}

export async function createRoleWithRecovery(
  ctx: ClientContext,
  params: CreateRoleParams,
  options?: CreateRoleOptions,
): Promise<ResponseInfo<Role>> {
  const { recoverAmbiguous, ...requestOptions } = checkRequestOptions("create_role", options) as CreateRoleOptions;
  if (recoverAmbiguous !== undefined && typeof recoverAmbiguous !== "boolean") {
    throw new InvalidRequestError("create_role: recoverAmbiguous must be true or false. Nothing was sent.", {
      operation: "create_role",
      field: "recoverAmbiguous",
    });
  }
  if (!recoverAmbiguous) return callWithResponse(ctx, "create_role", params, requestOptions);
  if (typeof params?.name !== "string" || params.name.trim() === "") {
    throw new InvalidRequestError(
      "create_role: recoverAmbiguous needs a name, to find the role a lost answer created. Nothing was sent.",
      { operation: "create_role", field: "name" },
    );
  }
  const first = { ...params, name: attemptName(params.name) };
  try {
    return await callWithResponse(ctx, "create_role", first, requestOptions);
  } catch (error) {
    // A 2xx whose body is unusable created a role nobody can use: as good as a lost answer.
    const unusable =
      error instanceof UnexpectedResponseError && (error.status ?? 0) >= 200 && (error.status ?? 0) < 300;
    const ambiguous = error instanceof PlanetScaleError && error.outcomeUnknown && !(error instanceof AbortError);
    if (!unusable && !ambiguous) throw error;
    await removeAttemptRole(ctx, first, requestOptions, error);
  }
  // The first attempt left nothing behind: one more, under a name of its own, and its failure is final.
  return callWithResponse(ctx, "create_role", { ...params, name: attemptName(params.name) }, requestOptions);
}

/** Deletes the role(s) carrying this attempt's name, if the lost create made one; touches nothing else. */
async function removeAttemptRole(
  ctx: ClientContext,
  attempt: CreateRoleParams & { name: string },
  options: RequestOptions,
  original: PlanetScaleError,
): Promise<void> {
  const where = pick(attempt);
  const own: ListedRole[] = [];
  try {
    for await (const role of listAllRoles(ctx, { ...where, q: attempt.name }, options)) {
      if (role.name === attempt.name) own.push(role);
    }
  } catch (listError) {
    extendMessage(
      original,
      `. Recovery could not check whether role ${attempt.name} was created (${(listError as Error).message}), so it ` +
        `deleted nothing and did not create again. Look for it with listRoles({ organization, database, branch, ` +
        `q: ${JSON.stringify(attempt.name)} }) and delete it if it is there: its password was never seen`,
    );
    throw original;
  }
  for (const role of own) {
    try {
      await callOperation(ctx, "delete_role", { ...where, id: role.id }, options);
    } catch (deleteError) {
      throw new PlanetScaleError(
        `create_role's answer was lost (${original.message}); recovery found ${describeRole(attempt, role)} ` +
          `but could not delete it, so it is left behind with a password nobody has: ${(deleteError as Error).message}`,
        { operation: "create_role", outcomeUnknown: false, cause: deleteError },
      );
    }
  }
}
