// The fake's state: each branch's roles, with their last passwords, and its default role. Branches
// spring into being when first named; a role's username is `<name>.<random>`, as PlanetScale's are.

import type { Role } from "planetscale-roles";
import type { operations } from "../generated/openapi.ts";
import { randomId, randomPassword } from "./random.ts";

/** Where a role lives. */
export interface BranchScope {
  organization: string;
  database: string;
  branch: string;
}

type JsonBody<Op> = Op extends { requestBody?: { content: { "application/json": infer Body } } } ? Body : never;
export type CreateRoleBody = JsonBody<operations["create_role"]>;
export type UpdateRoleBody = JsonBody<operations["update_role"]>;
export type Actor = Role["actor"];

interface Branch {
  scope: BranchScope;
  info: Role["branch"];
  roles: Role[];
  defaultRole?: Role;
}

// Made-up hosts in PlanetScale's style; connection strings built from them parse but lead nowhere.
const HOSTS = {
  access_host_url: "aws-us-east-2.pg.psdb.cloud",
  private_access_host_url: "aws-us-east-2-private.pg.psdb.cloud",
  private_connection_service_name: "com.amazonaws.vpce.us-east-2.vpce-svc-0fake0planetscale0",
};

export type RolesStore = ReturnType<typeof createRolesStore>;

/** What a database behind the fake is told, so that its roles follow the fake's (src/testing/postgres.ts). */
export interface RoleEvents {
  created(role: Role): void;
  renewed(role: Role): void;
  passwordReset(role: Role): void;
  renamed(role: Role, previousUsername: string): void;
  reassigned(role: Role, successor: Role): void;
  removed(role: Role, successor: Role | undefined): void;
}

/** Where the roles' connection fields point, and who mirrors them; default: nowhere, in memory only. */
export interface StoreBacking {
  events: RoleEvents;
  host: string;
  database: string;
}

export function createRolesStore(now: () => Date, backing?: StoreBacking) {
  const branches = new Map<string, Branch>();
  const hosts = backing ? { ...HOSTS, access_host_url: backing.host } : HOSTS;
  const events = backing?.events;
  const stamp = () => now().toISOString();
  // Only a backing can refuse what the store did: what the request at hand would have to put back.
  let undos: (() => void)[] = [];
  const ifRefused = (undo: () => void) => {
    if (backing) undos.push(undo);
  };

  function branchOf(scope: BranchScope): Branch {
    const key = JSON.stringify([scope.organization, scope.database, scope.branch]);
    let found = branches.get(key);
    if (!found) {
      const at = stamp();
      const info = { id: randomId(), name: scope.branch, created_at: at, updated_at: at, deleted_at: null };
      found = { scope: { ...scope }, info, roles: [] };
      branches.set(key, found);
    }
    return found;
  }

  function expiry(ttl: number): string | null {
    return ttl > 0 ? new Date(now().getTime() + ttl * 1000).toISOString() : null;
  }

  function newRole(scope: BranchScope, name: string, actor: Actor, body: CreateRoleBody): Role {
    const at = stamp();
    const ttl = body.ttl ?? 0;
    return {
      id: randomId(),
      name,
      ...hosts,
      username: `${name}.${randomId()}`,
      base_username: name,
      password: randomPassword(),
      database_name: backing?.database ?? "postgres",
      created_at: at,
      updated_at: at,
      deleted_at: null,
      expires_at: expiry(ttl),
      dropped_at: null,
      disabled_at: null,
      drop_failed: "",
      ready: true,
      expired: false,
      default: false,
      ttl,
      // The API answers with the roles it accepted; the spec's response enum may lag the request's.
      inherited_roles: (body.inherited_roles ?? []) as Role["inherited_roles"],
      with_replication: body.with_replication ?? false,
      branch: { ...branchOf(scope).info },
      actor: { ...actor },
      query_safety_settings: {
        require_where_on_delete: body.require_where_on_delete ?? "off",
        require_where_on_update: body.require_where_on_update ?? "off",
      },
    };
  }

  /** A copy of the role as of now: `expired` follows the clock, and the state cannot be changed through it. */
  function current(role: Role): Role {
    const copy = structuredClone(role);
    copy.expired = role.expires_at !== null && Date.parse(role.expires_at) <= now().getTime();
    return copy;
  }

  function touch(role: Role): void {
    role.updated_at = stamp();
  }

  return {
    current,
    create(scope: BranchScope, body: CreateRoleBody, actor: Actor): Role {
      const role = newRole(scope, body.name ?? `role-${randomId(6)}`, actor, body);
      const roles = branchOf(scope).roles;
      roles.push(role);
      ifRefused(() => roles.includes(role) && roles.splice(roles.indexOf(role), 1));
      events?.created(role);
      return role;
    },
    /** The branch's roles in the order they were created; the default role is not among them. */
    list(scope: BranchScope): Role[] {
      return branchOf(scope).roles;
    },
    find(scope: BranchScope, id: string): Role | undefined {
      return branchOf(scope).roles.find((role) => role.id === id);
    },
    /** The role a `successor` names: its id, or its username with or without the suffix. */
    successor(scope: BranchScope, named: string): Role | undefined {
      const branch = branchOf(scope);
      const candidates = branch.defaultRole ? [...branch.roles, branch.defaultRole] : branch.roles;
      return candidates.find((role) => role.id === named || role.username === named || role.name === named);
    },
    /** Whether an unknown successor is refused: a real database cannot hand objects to nobody. */
    backed: backing !== undefined,
    remove(scope: BranchScope, role: Role, successor?: Role): void {
      const roles = branchOf(scope).roles;
      const at = roles.indexOf(role);
      roles.splice(at, 1);
      ifRefused(() => roles.splice(Math.min(at, roles.length), 0, role));
      events?.removed(role, successor);
    },
    reassign(role: Role, successor: Role): void {
      events?.reassigned(role, successor);
    },
    rename(role: Role, name: string): void {
      const previousUsername = role.username;
      // The username keeps its random suffix and follows the name, so it stays `<name>.<random>`.
      role.username = `${name}${role.username.slice(role.username.lastIndexOf("."))}`;
      role.base_username = name;
      role.name = name;
      touch(role);
      if (previousUsername !== role.username) events?.renamed(role, previousUsername);
    },
    setQuerySafety(role: Role, body: UpdateRoleBody): void {
      const settings = role.query_safety_settings;
      settings.require_where_on_delete = body.require_where_on_delete ?? settings.require_where_on_delete;
      settings.require_where_on_update = body.require_where_on_update ?? settings.require_where_on_update;
      touch(role);
    },
    renew(role: Role): void {
      role.expires_at = expiry(role.ttl);
      touch(role);
      events?.renewed(role);
    },
    resetPassword(role: Role): void {
      role.password = randomPassword();
      touch(role);
      events?.passwordReset(role);
    },
    /** The branch's default `postgres` role, made the first time it is asked for. */
    defaultRole(scope: BranchScope, actor: Actor): Role {
      const branch = branchOf(scope);
      if (!branch.defaultRole) {
        const made: Role = { ...newRole(scope, "postgres", actor, {}), default: true };
        branch.defaultRole = made;
        ifRefused(() => {
          if (branch.defaultRole === made) delete branch.defaultRole;
        });
        events?.created(made);
      }
      return branch.defaultRole;
    },
    /**
     * What the request just handled changed, as one undo for when its SQL is refused: a created
     * role is forgotten and a removed one put back, so memory keeps what Postgres has.
     */
    takeUndo(): () => void {
      const taken = undos.reverse();
      undos = [];
      return () => {
        for (const undo of taken) undo();
      };
    },
    /** Every role of every branch that matches `where`, as of now. */
    all(where: Partial<BranchScope> = {}): Role[] {
      const matches = (scope: BranchScope) =>
        (Object.keys(where) as (keyof BranchScope)[]).every(
          (key) => where[key] === undefined || where[key] === scope[key],
        );
      return [...branches.values()]
        .filter((branch) => matches(branch.scope))
        .flatMap((branch) => branch.roles.map(current));
    },
  };
}
