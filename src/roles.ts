// What the Roles resource needs beyond one request per call: every page of a list, a role that
// deletes itself, and the opt-in recovery of a create whose outcome is unknown. Each goes through
// the pipeline (request.ts); none has a loop of retries of its own.
import {
  AbortError,
  badPaging,
  type CallbackOutcome,
  explainUnknownCreate,
  InvalidRequestError,
  leftBehind,
  NotFoundError,
  type PlanetScaleError,
  recoveryLeftBehind,
  recoveryUnchecked,
} from "./errors.ts";
import { create_role, delete_role, list_roles } from "./generated/operations.ts";
import { type ClientContext, callOperation, callWithResponse } from "./request.ts";
import { redactInspect } from "./secrets.ts";
import type { CreateRoleParams, ListRolesParams, RequestOptions, ResponseInfo, Role, RolePage } from "./types.ts";
import { checkCreateOptions, checkTemporaryRole } from "./validate.ts";

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

/** A list that reaches this many pages is refused: no branch has that many roles, a broken server may. */
export const MAX_LIST_PAGES = 1_000;

/** The ttl, in seconds, of a temporary role when the caller gives none: it outlives no process by long. */
export const TEMPORARY_ROLE_TTL = 3_600;

type Where = { organization: string; database: string; branch: string };

function pick(params: Where): Where {
  return { organization: params.organization, database: params.database, branch: params.branch };
}

/**
 * Every page, read before the first role is handed out: the caller may then delete or create roles
 * while iterating without shifting the pages under the loop, so no role that existed when it began
 * is skipped or repeated. A role another client adds meanwhile may shift one onto the next page:
 * ids already seen are not repeated, and a page with nothing new ends the list as broken.
 */
async function readAllPages(ctx: ClientContext, params: Omit<ListRolesParams, "page">, options?: RequestOptions) {
  const seen = new Map<string, ListedRole>();
  for (let page = 1; ; ) {
    const answer = await callWithResponse(ctx, list_roles, { ...params, page }, options);
    const result = answer.data;
    const fresh = result.data.filter((role) => !seen.has(role.id));
    for (const role of fresh) seen.set(role.id, role);
    const next = result.next_page;
    if (next === null || next === undefined) return [...seen.values()];
    // A next_page that does not move forward would loop for ever.
    if (!Number.isSafeInteger(next) || next <= page) throw badPaging(page, `with next_page ${String(next)}`, answer);
    // A page with nothing new that points to another (empty, or roles already listed) would go on for ever.
    if (fresh.length === 0) throw badPaging(page, "with no role it had not listed, and a next_page", answer);
    if (next > MAX_LIST_PAGES) {
      throw badPaging(page, `with a next_page past ${MAX_LIST_PAGES} pages, where listAllRoles stops`, answer);
    }
    page = next;
  }
}

export async function* listAllRoles(
  ctx: ClientContext,
  params: Omit<ListRolesParams, "page">,
  options?: RequestOptions,
): AsyncGenerator<ListedRole, void, undefined> {
  if ((params as { page?: unknown } | undefined)?.page !== undefined) {
    throw new InvalidRequestError("list_roles: listAllRoles starts at page 1 and follows next_page; do not pass page", {
      operation: "list_roles",
      field: "page",
    });
  }
  for (const role of await readAllPages(ctx, params, options)) yield redactInspect(role);
}

/**
 * Runs the callback; resolves to what it gives, or rejects with an AbortError once the caller's
 * signal fires while it is still running. A callback that has already returned wins, even if it
 * fired the signal itself on the way.
 */
function untilAborted<T>(use: () => T | Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  const work = (async () => use())();
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () =>
      reject(
        new AbortError("create_role: createTemporaryRole was aborted while its callback ran", { cause: signal.reason }),
      );
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    // Settled callbacks are told first: `work.then` above was queued before this.
    if (signal.aborted) Promise.resolve().then(onAbort);
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}

export async function createTemporaryRole<T>(
  ctx: ClientContext,
  params: CreateRoleParams,
  use: (role: Role) => Promise<T> | T,
  options?: CreateRoleOptions,
): Promise<T> {
  checkTemporaryRole(params, use);
  // `ttl: undefined` (an optional setting left unset) gets the default too: the role always expires.
  const withTtl = { ...params, ttl: params.ttl ?? TEMPORARY_ROLE_TTL };
  const role = (await createRoleWithRecovery(ctx, withTtl, options)).data;
  let outcome: CallbackOutcome<T>;
  try {
    outcome = { ok: true, value: await untilAborted(() => use(role), options?.signal) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const { recoverAmbiguous: _, ...requestOptions } = options ?? {};
  try {
    // Cleanup runs even when the caller's signal fired: that is what makes the role temporary.
    await callOperation(ctx, delete_role, { ...pick(params), id: role.id }, { ...requestOptions, signal: undefined });
  } catch (deleteError) {
    // Gone already (the callback or a janitor deleted it): what the delete was for is done.
    if (!(deleteError instanceof NotFoundError)) throw leftBehind(params, role, deleteError, outcome);
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/**
 * The name one create attempt uses under recoverAmbiguous: the caller's name and eight random
 * characters. Nobody else can know it, so a role that carries it can only be this attempt's; a
 * role that merely shares the caller's name, made before or during the attempt, never matches.
 */
export function attemptName(name: string): string {
  const random = crypto.getRandomValues(new Uint8Array(8));
  return `${name}-${Array.from(random, (byte) => (byte % 36).toString(36)).join("")}`;
}

export async function createRoleWithRecovery(
  ctx: ClientContext,
  params: CreateRoleParams,
  options?: CreateRoleOptions,
): Promise<ResponseInfo<Role>> {
  const { recoverAmbiguous, ...requestOptions } = checkCreateOptions(params, options);
  const explain = explainUnknownCreate;
  if (!recoverAmbiguous) return callWithResponse(ctx, create_role, params, requestOptions, { explain });
  let sent: CreateRoleParams & { name: string } = { ...params, name: attemptName(params.name as string) };
  // The pipeline asks for this once, when an attempt's outcome is unknown; the next attempt it
  // makes is a new create under a name of its own.
  const recover = async (failure: PlanetScaleError) => {
    await removeAttemptRole(ctx, sent, requestOptions, failure);
    sent = { ...params, name: attemptName(params.name as string) };
    return sent;
  };
  return callWithResponse(ctx, create_role, sent, requestOptions, { recover, explain });
}

/** Deletes the role(s) carrying this attempt's name, if the lost create made one; touches nothing else. */
async function removeAttemptRole(
  ctx: ClientContext,
  attempt: CreateRoleParams & { name: string },
  options: RequestOptions,
  original: PlanetScaleError,
): Promise<void> {
  const where = pick(attempt);
  let own: ListedRole[];
  try {
    own = (await readAllPages(ctx, { ...where, q: attempt.name }, options)).filter(
      (role) => role.name === attempt.name,
    );
  } catch (listError) {
    throw recoveryUnchecked(original, attempt.name, listError);
  }
  for (const role of own) {
    try {
      await callOperation(ctx, delete_role, { ...where, id: role.id }, options);
    } catch (deleteError) {
      throw recoveryLeftBehind(original, where, role, deleteError);
    }
  }
}
