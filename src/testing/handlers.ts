// What each Roles operation does to the fake's state and what it answers, as the spec and the
// API's documented behaviour say: the password only in create and reset answers, pages that end
// with next_page null, 404 not_found for an id the branch does not have.
import type { OperationId, OperationResult, Role } from "planetscale-roles";
import { emptyAnswer, errorAnswer, jsonAnswer } from "./answers.ts";
import type { Actor, BranchScope, CreateRoleBody, RolesStore, UpdateRoleBody } from "./roles-store.ts";

export interface Call {
  params: Record<string, string>;
  query: URLSearchParams;
  body: unknown;
  /** The request's own URL, from which the page links are made. */
  url: URL;
  actor: Actor;
  store: RolesStore;
}

// The spec's defaults for list_roles.
const FIRST_PAGE = 1;
const DEFAULT_PER_PAGE = 25;

function scopeOf(params: Record<string, string>): BranchScope {
  return { organization: `${params.organization}`, database: `${params.database}`, branch: `${params.branch}` };
}

/** Get and list answers never carry the password: it is shown once, by create and reset. */
function withoutPassword(role: Role): Role {
  return { ...role, password: "" };
}

function withRole(call: Call, act: (role: Role, scope: BranchScope) => Response): Response {
  const scope = scopeOf(call.params);
  const role = call.store.find(scope, `${call.params.id}`);
  if (role) return act(role, scope);
  const where = `${scope.organization}/${scope.database}/${scope.branch}`;
  return errorAnswer(404, `Role ${call.params.id} was not found on ${where}`, "not_found");
}

/** In postgres mode a successor must be a role of the branch; in memory any name is taken. */
function withSuccessor(
  call: Call,
  scope: BranchScope,
  named: string | undefined,
  act: (successor: Role | undefined) => Response,
): Response {
  const successor = named === undefined ? undefined : call.store.successor(scope, named);
  if (named !== undefined && !successor && call.store.backed) {
    return errorAnswer(422, `successor ${JSON.stringify(named)} names no role on this branch`, "invalid_params");
  }
  return act(successor);
}

// The fake's notion of list_roles' `status` filter, after pscale's values: a role is active until it
// expires or is disabled, and renewable while it is active and has a ttl to renew.
const STATUS_FILTERS: Record<string, (role: Role) => boolean> = {
  active: (role) => !role.expired && role.disabled_at === null,
  renewable: (role) => !role.expired && role.disabled_at === null && role.ttl > 0,
  disabled: (role) => role.disabled_at !== null,
  expired: (role) => role.expired,
};

function pageUrl(url: URL, page: number | null, perPage: number): string | null {
  if (page === null) return null;
  const link = new URL(url);
  link.searchParams.set("page", String(page));
  link.searchParams.set("per_page", String(perPage));
  return link.href;
}

function listRoles(call: Call): Response {
  const page = Number(call.query.get("page") ?? FIRST_PAGE);
  const perPage = Number(call.query.get("per_page") ?? DEFAULT_PER_PAGE);
  const q = call.query.get("q")?.toLowerCase();
  const status = call.query.get("status");
  const matching = call.store
    .list(scopeOf(call.params))
    .map(call.store.current)
    .filter((role) => !q || role.name.toLowerCase().includes(q) || role.username.toLowerCase().includes(q))
    .filter((role) => !status || (STATUS_FILTERS[status]?.(role) ?? false));
  const totalPages = Math.ceil(matching.length / perPage);
  const nextPage = page < totalPages ? page + 1 : null;
  const prevPage = page > FIRST_PAGE ? page - 1 : null;
  const answer: OperationResult<"list_roles"> = {
    type: "list",
    current_page: page,
    per_page: perPage,
    next_page: nextPage,
    next_page_url: pageUrl(call.url, nextPage, perPage),
    prev_page: prevPage,
    prev_page_url: pageUrl(call.url, prevPage, perPage),
    total_count: matching.length,
    total_pages: totalPages,
    data: matching.slice((page - 1) * perPage, page * perPage).map(withoutPassword),
  };
  return jsonAnswer(200, answer);
}

// Partial: an operation the spec gains later is answered as an unknown route until the fake learns it.
export const handlers: Partial<Record<OperationId, (call: Call) => Response>> = {
  list_roles: listRoles,
  create_role: (call) => {
    const role = call.store.create(scopeOf(call.params), call.body as CreateRoleBody, call.actor);
    return jsonAnswer(200, call.store.current(role) satisfies OperationResult<"create_role">);
  },
  get_role: (call) =>
    withRole(call, (role) =>
      jsonAnswer(200, withoutPassword(call.store.current(role)) satisfies OperationResult<"get_role">),
    ),
  update_role: (call) =>
    withRole(call, (role) => {
      const body = call.body as UpdateRoleBody;
      if (body.name !== undefined) call.store.rename(role, body.name);
      call.store.setQuerySafety(role, body);
      return jsonAnswer(200, withoutPassword(call.store.current(role)) satisfies OperationResult<"update_role">);
    }),
  delete_role: (call) =>
    withRole(call, (role, scope) =>
      withSuccessor(call, scope, call.query.get("successor") ?? undefined, (successor) => {
        call.store.remove(scope, role, successor);
        return emptyAnswer(204);
      }),
    ),
  // In memory the fake holds no database objects; with postgres, the server hands them over.
  reassign_role_objects: (call) =>
    withRole(call, (role, scope) =>
      withSuccessor(call, scope, (call.body as { successor: string }).successor, (successor) => {
        if (successor) call.store.reassign(role, successor);
        return emptyAnswer(204);
      }),
    ),
  renew_role: (call) =>
    withRole(call, (role) => {
      call.store.renew(role);
      return jsonAnswer(200, withoutPassword(call.store.current(role)) satisfies OperationResult<"renew_role">);
    }),
  reset_role: (call) =>
    withRole(call, (role) => {
      call.store.resetPassword(role);
      return jsonAnswer(200, call.store.current(role) satisfies OperationResult<"reset_role">);
    }),
  get_default_role: (call) => {
    const role = call.store.defaultRole(scopeOf(call.params), call.actor);
    return jsonAnswer(200, withoutPassword(call.store.current(role)) satisfies OperationResult<"get_default_role">);
  },
  reset_default_role: (call) => {
    const role = call.store.defaultRole(scopeOf(call.params), call.actor);
    call.store.resetPassword(role);
    const answer: OperationResult<"reset_default_role"> = {
      username: role.username,
      password: role.password,
      access_host_url: role.access_host_url,
    };
    return jsonAnswer(200, answer);
  },
};
