// createFakePlanetScale: the Roles API in memory, behind a fetch function (and, in Node, an HTTP
// server). It checks credentials, records what it received, applies queued faults, refuses input
// the API refuses, and hands the call to the operation's handler.

import type { OperationId, Role, ServiceToken } from "planetscale-roles";
import { sleep } from "../clock.ts";
import { errorAnswer } from "./answers.ts";
import { invalidInput } from "./checks.ts";
import { connectionResetError, createFaultQueue, type FakeFault, faultAnswer } from "./faults.ts";
import { handlers } from "./handlers.ts";
import { type FakeServer, listenOnLoopback, type Serve } from "./listen.ts";
import { createPostgresBacking, type PostgresBacking } from "./postgres.ts";
import { randomId } from "./random.ts";
import { type Actor, type BranchScope, createRolesStore } from "./roles-store.ts";
import { matchRoute, type Route } from "./routes.ts";

/** A service token as the fake hands it out: the `{ id, token }` form createClient takes. */
type ServiceTokenPair = Exclude<ServiceToken, string>;

// A reserved name (RFC 2606) that never resolves: a client not handed fake.fetch reaches nothing.
export const FAKE_BASE_URL = "https://api.planetscale.invalid/v1";

export interface FakePlanetScaleOptions {
  /** The service token the fake accepts. Default: a random one. */
  serviceToken?: ServiceTokenPair;
  /** An OAuth access token the fake also accepts, as `Authorization: Bearer <token>`. Default: none. */
  accessToken?: string;
  /** Where the fake answers. Default: https://api.planetscale.invalid/v1. */
  baseUrl?: string;
  /** The fake's clock, for created_at, expires_at and expired. Default: the real one. */
  now?: () => Date;
  /**
   * A PostgreSQL superuser's URL: every role is then also a real role there (LOGIN, its password,
   * VALID UNTIL its expires_at, its inherited roles), and access_host_url and database_name point at
   * that server. Needs pg installed. Default: roles in memory only.
   */
  postgres?: string;
}

/** One request as the fake received it; the Authorization header is left out. */
export interface FakeRequest {
  /** The spec's operation id, or undefined when no Roles operation has this method and path. */
  operation: OperationId | undefined;
  method: string;
  /** The path below baseUrl, e.g. /organizations/acme/databases/app-db/branches/main/roles. */
  path: string;
  query: Record<string, string>;
  /** The JSON body, the text when it is not JSON, or undefined when there was none. */
  body: unknown;
  /** Lower-case names; never the credentials. */
  headers: Record<string, string>;
}

export interface FakePlanetScale {
  /** Pass to createClient({ fetch }); it serves baseUrl from memory and reaches no network. */
  fetch: typeof fetch;
  /** The one service token the fake accepts; anything else is answered 401 unauthorized. */
  serviceToken: ServiceTokenPair;
  baseUrl: string;
  /** The roles as they are now, each with its last password (the default roles are not among them). */
  roles(where?: Partial<BranchScope>): Role[];
  /** Every request received, in order. */
  readonly requests: readonly FakeRequest[];
  /** The next call of `operation` meets `fault`; several calls queue up in order. */
  failNext(operation: OperationId, fault: FakeFault): void;
  /** Node only: serves the same API and state over HTTP on 127.0.0.1, on a free port. */
  listen(): Promise<FakeServer>;
  /** With postgres: waits for the SQL under way and ends the admin connection (roles stay). */
  close(): Promise<void>;
}

function parseBody(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function withoutCredentials(headers: Headers): Record<string, string> {
  const kept: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (name !== "authorization") kept[name] = value;
  });
  return kept;
}

/** The path below `base`, or undefined when the URL is not under it. */
function pathBelow(url: URL, base: URL): string | undefined {
  const prefix = base.pathname.replace(/\/+$/, "");
  if (url.origin !== base.origin || !url.pathname.startsWith(`${prefix}/`)) return undefined;
  return url.pathname.slice(prefix.length);
}

/** Each accepted Authorization value, and who the fake says acted when it was used. */
function acceptedCredentials(serviceToken: ServiceTokenPair, accessToken?: string): Map<string, Actor> {
  const actor = (id: string, display_name: string) => ({
    id,
    display_name,
    avatar_url: `https://app.planetscale.invalid/avatars/${id}.png`,
  });
  const accepted = new Map([[`${serviceToken.id}:${serviceToken.token}`, actor(serviceToken.id, serviceToken.id)]]);
  if (accessToken) accepted.set(`Bearer ${accessToken}`, actor("oauth-user", "OAuth user"));
  return accepted;
}

function received(request: Request, url: URL, path: string, body: unknown, route?: Route): FakeRequest {
  return {
    operation: route?.operation,
    method: request.method,
    path,
    query: Object.fromEntries(url.searchParams),
    body,
    headers: withoutCredentials(request.headers),
  };
}

function checkOptions(options: FakePlanetScaleOptions): void {
  const fail = (field: string, allowed: string, value: unknown) => {
    throw new TypeError(
      `createFakePlanetScale: ${field} must be ${allowed}; got ${JSON.stringify(value) ?? typeof value}`,
    );
  };
  if (typeof options !== "object" || options === null) fail("options", "an object", options);
  const { serviceToken, accessToken, baseUrl, now, postgres } = options;
  if (serviceToken !== undefined) {
    const token = serviceToken as Partial<ServiceTokenPair>;
    if (typeof token.id !== "string" || !/^[^:\s]+$/.test(token.id))
      fail("serviceToken.id", "a string with no ':' or space", token.id);
    if (typeof token.token !== "string" || token.token === "")
      fail("serviceToken.token", "a non-empty string", token.token);
  }
  if (accessToken !== undefined && (typeof accessToken !== "string" || accessToken === "")) {
    fail("accessToken", "a non-empty string", accessToken);
  }
  if (baseUrl !== undefined && !(typeof baseUrl === "string" && URL.canParse(baseUrl))) {
    fail("baseUrl", "an absolute URL", baseUrl);
  }
  if (now !== undefined && typeof now !== "function") fail("now", "a function returning a Date", now);
  if (postgres !== undefined && typeof postgres !== "string") fail("postgres", "a postgresql:// URL", typeof postgres);
}

type Handler = NonNullable<(typeof handlers)[OperationId]>;

/** What every request of one fake shares: its roles, the faults queued, what it received, whom it accepts. */
interface FakeState {
  store: ReturnType<typeof createRolesStore>;
  faults: ReturnType<typeof createFaultQueue>;
  requests: FakeRequest[];
  accepted: Map<string, Actor>;
  postgres: PostgresBacking | undefined;
}

/** One request, as fake.fetch and the HTTP server both serve it: credentials, route, faults, then the handler. */
function serveFrom(state: FakeState): Serve {
  return async (request, servedAt) => {
    if (request.signal.aborted) throw request.signal.reason;
    const url = new URL(request.url);
    const path = pathBelow(url, servedAt) ?? url.pathname;
    const body = parseBody(await request.text());
    const route = matchRoute(request.method, path);
    const handle = route && handlers[route.operation];
    state.requests.push(received(request, url, path, body, route));
    const actor = state.accepted.get(request.headers.get("authorization") ?? "");
    if (!actor) return errorAnswer(401, "The credentials are not valid (the fake takes only fake.serviceToken)");
    if (!route || !handle) return errorAnswer(404, `Not found: ${request.method} ${path}`);
    const fault = state.faults.take(route.operation);
    const refused = fault && faultAnswer(fault, route.operation);
    if (refused) return refused;
    if (fault && "delayMs" in fault) await sleep(fault.delayMs, request.signal);
    const answer = await handled(state, handle, route, url, body ?? {}, actor);
    return fault && "connectionReset" in fault ? "connection-reset" : answer;
  };
}

/** The handler's answer, once what it changed is in the fake's PostgreSQL too; undone there if refused. */
async function handled(
  state: FakeState,
  handle: Handler,
  route: Route,
  url: URL,
  body: unknown,
  actor: Actor,
): Promise<Response> {
  const { store, postgres } = state;
  const problem = invalidInput(route.operation, url.searchParams, body);
  const call = { params: route.params, query: url.searchParams, body, url, actor, store };
  const answer = problem ? errorAnswer(422, problem, "invalid_params") : handle(call);
  // The handler ran synchronously: what it changed and queued for the server is this request's alone.
  const undo = store.takeUndo();
  const unsynced = await postgres?.flush();
  if (unsynced) {
    undo();
    return errorAnswer(500, `The fake's PostgreSQL refused: ${unsynced.message}`);
  }
  return answer;
}

export function createFakePlanetScale(options: FakePlanetScaleOptions = {}): FakePlanetScale {
  checkOptions(options);
  const serviceToken = options.serviceToken ?? { id: `fake-${randomId(8)}`, token: `pscale_tkn_${randomId(32)}` };
  const baseUrl = (options.baseUrl ?? FAKE_BASE_URL).replace(/\/+$/, "");
  const base = new URL(baseUrl);
  const postgres = options.postgres === undefined ? undefined : createPostgresBacking(options.postgres);
  const backing = postgres && { events: postgres, host: postgres.host, database: postgres.database };
  const store = createRolesStore(options.now ?? (() => new Date()), backing);
  const state = {
    store,
    faults: createFaultQueue(),
    requests: [],
    accepted: acceptedCredentials(serviceToken, options.accessToken),
    postgres,
  };
  const serve = serveFrom(state);
  const { requests, faults } = state;

  const fakeFetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    if (pathBelow(new URL(request.url), base) === undefined) {
      throw new TypeError(`planetscale-roles/testing: fake.fetch serves only ${baseUrl}, not ${request.url}`);
    }
    const outcome = await serve(request, base);
    if (outcome === "connection-reset") throw connectionResetError();
    return outcome;
  };

  return {
    fetch: fakeFetch as typeof fetch,
    serviceToken,
    baseUrl,
    roles: (where) => store.all(where),
    requests,
    failNext: (operation, fault) => faults.add(operation, fault),
    listen: () => listenOnLoopback(serve, base.pathname.replace(/\/+$/, "")),
    close: async () => postgres?.close(),
  };
}
