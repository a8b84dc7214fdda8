// createClient: options and their defaults in one place, and one method per Roles operation.

import type { Client } from "openapi-fetch";
import * as openapiFetch from "openapi-fetch";
import { type Clock, systemClock } from "./clock.ts";
import { authorizationHeader, credentialsIdentity, envAuthorizationHeader, type ServiceToken } from "./credentials.ts";
import { explainUnknownReset, gateRefusal } from "./errors.ts";
import { createGate, createRateLimiter, type RateLimiter } from "./gate.ts";
import type { paths } from "./generated/openapi.ts";
import {
  delete_role,
  get_default_role,
  get_role,
  list_roles,
  type Operation,
  reassign_role_objects,
  renew_role,
  reset_default_role,
  reset_role,
  update_role,
} from "./generated/operations.ts";
import { type Lease, type LeaseOptions, leaseRole } from "./lease.ts";
import { debugLogger } from "./log.ts";
import {
  type ClientContext,
  type ContextGate,
  callWithResponse,
  heldAtGate,
  responsePromise,
  type Steps,
} from "./request.ts";
import { defaultRetrySettings, type RetrySettings } from "./retry.ts";
import {
  type CreateRoleOptions,
  createRoleWithRecovery,
  createTemporaryRole,
  type ListedRole,
  listAllRoles,
} from "./roles.ts";
import { redactInspect, secretsOf } from "./secrets.ts";
import { assertSafeUrl, guardedFetch } from "./transport.ts";
import type {
  CreateRoleParams,
  DefaultRoleCredentials,
  DeleteRoleParams,
  GetDefaultRoleParams,
  GetRoleParams,
  ListRolesParams,
  OperationParams,
  ReassignRoleObjectsParams,
  RenewRoleParams,
  RequestLogEvent,
  RequestOptions,
  ResetDefaultRoleParams,
  ResetRoleParams,
  ResponsePromise,
  RetryEvent,
  Role,
  RolePage,
  UpdateRoleParams,
} from "./types.ts";
import { checkClientSettings, checkClientShape, checkedRawInit, checkFetch } from "./validate.ts";
import { VERSION } from "./version.ts";

// openapi-fetch has only a default export. Its CommonJS build sets `exports.default` with
// __esModule, which bundlers' Node-mode interop hands over as the whole module object; taking it
// from the namespace works under every loader. Only `.default` is read, and statically, so that a
// bundler keeps nothing else of openapi-fetch.
const exported: unknown = openapiFetch.default;
const createFetchClient = (
  typeof exported === "function" ? exported : (exported as { default: unknown }).default
) as typeof openapiFetch.default;

export const DEFAULT_BASE_URL = "https://api.planetscale.com/v1";
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_CONCURRENCY = 10;

export interface ClientOptions {
  /** `{ id, token }` or `"id:token"`; sent as `Authorization: <id>:<token>`. */
  serviceToken?: ServiceToken;
  /** An OAuth access token, sent as `Authorization: Bearer <token>`. */
  accessToken?: string;
  /** Default: PLANETSCALE_API_URL, else https://api.planetscale.com/v1. */
  baseUrl?: string;
  /** Default: globalThis.fetch. */
  fetch?: typeof fetch;
  /** Deadline for each attempt, in milliseconds. Default 30 000. */
  timeoutMs?: number;
  /** Retries after the first attempt, where the retry policy allows them. Default 2. */
  maxRetries?: number;
  /** Appended to "planetscale-roles/<version>" in the User-Agent header. */
  userAgent?: string;
  /** Tuning of the waits between attempts; the defaults suit the real API. */
  backoff?: {
    /** First backoff step in ms (default 500); each later one doubles, with jitter. */
    baseMs?: number;
    /** Longest backoff step in ms (default 8000). */
    maxMs?: number;
    /** A Retry-After longer than this (default 60000 ms) is not waited for: the RateLimitError carries it. */
    maxRetryAfterMs?: number;
  };
  /** Receives one event per attempt. Default: lines on stderr when PLANETSCALE_DEBUG=1. */
  logger?: (event: RequestLogEvent) => void;
  /**
   * Calls of this client in flight at once; the others wait their turn (default 10, as Octokit's
   * throttling). `Infinity` turns the cap off.
   */
  maxConcurrency?: number;
  /**
   * The request budget a 429 closes for every call until its Retry-After has passed, then opens at
   * the pace the server accepted. Default: one in memory per client. Pass one limiter to several
   * clients to share it, `createRedisRateLimiter` (planetscale-roles/redis) to share it across
   * processes, or `false` to turn it off (each call then waits out its own 429s).
   */
  rateLimiter?: RateLimiter | false;
  /** Told before each wait for a retry, with the reason and the delay; a hook that throws changes nothing. */
  onRetry?: (event: RetryEvent) => void;
  /**
   * Where every wait and every reading of the time comes from. Default: the real clock. Tests pass
   * one they steer, so that retries, holds, deadlines and lease renewals happen when they say.
   */
  clock?: Clock;
  /** Where the defaults are read from. Default: process.env. */
  env?: Record<string, string | undefined>;
}

// Every method checks its input before sending (InvalidRequestError, naming the field), resolves to
// its result, and rejects with a PlanetScaleError subclass: AuthenticationError (401),
// PermissionDeniedError (403, with the accesses the operation needs), NotFoundError (404),
// RateLimitError (429 past the retries), ServerError (5xx), ConnectionError, TimeoutError, AbortError,
// or UnexpectedResponseError (a 2xx of the wrong shape, its body kept). `.withResponse()` on what a
// method returns also gives the answer's status, headers and request id.
export interface PlanetScaleClient {
  /**
   * Creates a role; the answer holds its password, the only time it can be read. Never sent again once
   * it may have reached the server: an error with `outcomeUnknown` says how to look for the role, and
   * `recoverAmbiguous` deletes what a lost attempt made and creates once more.
   */
  createRole(params: CreateRoleParams, options?: CreateRoleOptions): ResponsePromise<Role>;
  /** One page of roles, as the API returns it (no passwords). Filter with `q` and `status`. */
  listRoles(params: ListRolesParams, options?: RequestOptions): ResponsePromise<RolePage>;
  /**
   * Every role, page after page: all pages are read before the first role is handed out, so the loop
   * may delete or create roles without skipping or repeating one. Rejects with
   * UnexpectedResponseError on pages that do not add up, or past 1000 pages.
   */
  listAllRoles(params: Omit<ListRolesParams, "page">, options?: RequestOptions): AsyncIterable<ListedRole>;
  /**
   * Creates a role (ttl 3600 s unless given; 0 is refused), hands it to `use`, and deletes it
   * afterwards whether `use` succeeds, throws, or the caller's signal ends the wait. A delete that
   * fails is a PlanetScaleError naming the role left behind and how to delete it.
   */
  createTemporaryRole<T>(
    params: CreateRoleParams,
    use: (role: Role) => Promise<T> | T,
    options?: CreateRoleOptions,
  ): Promise<T>;
  /** One role by id, without its password (the API never shows it again). NotFoundError if there is none. */
  getRole(params: GetRoleParams, options?: RequestOptions): ResponsePromise<Role>;
  /** Renames a role or changes its settings; resolves to the role as it now is. Safe to retry. */
  updateRole(params: UpdateRoleParams, options?: RequestOptions): ResponsePromise<Role>;
  /**
   * Deletes a role; `successor` takes over the objects it owns. Retried where the outcome is unknown:
   * a repeat's 404 counts as done.
   */
  deleteRole(params: DeleteRoleParams, options?: RequestOptions): ResponsePromise<void>;
  /** Moves the role's `expires_at` a ttl forward from now; resolves to the renewed role. Safe to retry. */
  renewRole(params: RenewRoleParams, options?: RequestOptions): ResponsePromise<Role>;
  /**
   * Gives the role a new password and resolves to the role with it; the old one stops working at once.
   * An error with `outcomeUnknown` means the old password may already be invalid: call it again.
   */
  resetRole(params: ResetRoleParams, options?: RequestOptions): ResponsePromise<Role>;
  /** Hands the objects a role owns to `successor`, so that it can be dropped. */
  reassignRoleObjects(params: ReassignRoleObjectsParams, options?: RequestOptions): ResponsePromise<void>;
  /** The branch's default `postgres` role, without its password. */
  getDefaultRole(params: GetDefaultRoleParams, options?: RequestOptions): ResponsePromise<Role>;
  /** A new password for the default role; the old one stops working at once. */
  resetDefaultRole(params: ResetDefaultRoleParams, options?: RequestOptions): ResponsePromise<DefaultRoleCredentials>;
  /**
   * Credentials that outlive their ttl: creates a role (named `<name>-<8 random characters>`), renews it
   * before expires_at, replaces it make-before-break on rotation or when renewal cannot keep it alive
   * (onChange is awaited before the previous role's grace starts), and deletes what it made on close.
   * Resolves once the first role exists. See "Long-running services" in the README.
   */
  leaseRole(params: CreateRoleParams, options?: LeaseOptions): Promise<Lease>;
  /** The typed openapi-fetch client, with the same credentials and transport rules, for anything else. */
  readonly raw: Client<paths>;
}

// Deno without --allow-env throws on every read of process.env: a variable that cannot be read
// counts as not set, so a client given everything in its options needs no env permission.
function processEnv(): Record<string, string | undefined> {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  if (!env) return {};
  return new Proxy<Record<string, string | undefined>>(
    {},
    {
      get(_target, name) {
        try {
          return typeof name === "string" ? env[name] : undefined;
        } catch {
          return undefined;
        }
      },
    },
  );
}

/**
 * What a client uses where its options say nothing: the environment's settings, else the defaults.
 * The standalone createRole, which takes no options, uses these as they are.
 */
function environmentDefaults(env: Record<string, string | undefined>) {
  return {
    env,
    clock: systemClock,
    baseUrl: env.PLANETSCALE_API_URL || DEFAULT_BASE_URL,
    fetch: globalThis.fetch,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    logger: debugLogger(env),
  };
}

/** createClient's options with their defaults filled in, each default where its option enters. */
function withDefaults(options: ClientOptions) {
  const defaults = environmentDefaults(options.env ?? processEnv());
  const clock = options.clock ?? defaults.clock;
  return {
    env: defaults.env,
    clock,
    baseUrl: options.baseUrl ?? defaults.baseUrl,
    // Only a fetch left out falls back to the global one: null is a mistake to name, not a default.
    fetch: options.fetch === undefined ? defaults.fetch : options.fetch,
    timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
    maxRetries: options.maxRetries ?? defaultRetrySettings.maxRetries,
    userAgent: options.userAgent,
    logger: options.logger ?? defaults.logger,
    backoff: options.backoff ?? {},
    maxConcurrency: options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    rateLimiter: options.rateLimiter ?? createRateLimiter({ clock }),
    onRetry: options.onRetry,
  };
}

/** What a context is made of: the environment's defaults, and whatever of the rest a client was given. */
type Settings = ReturnType<typeof environmentDefaults> & {
  authorization: string;
  retry: RetrySettings;
  userAgent?: string | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
};

/** createClient's options, each checked, with their defaults; a shared limiter learns whose budget it keeps. */
function settle(options: ClientOptions) {
  checkClientShape(options);
  const settings = withDefaults(options);
  checkClientSettings(settings);
  const authorization = authorizationHeader(options, settings.env);
  const bind = settings.rateLimiter ? settings.rateLimiter.bind?.bind(settings.rateLimiter) : undefined;
  if (bind) {
    const identity = credentialsIdentity(authorization);
    // A store that drops the promise must not turn a failed digest into an unhandled rejection.
    identity.catch(() => {});
    bind(identity);
  }
  return { ...settings, authorization, retry: retryOf(settings.maxRetries, settings.backoff) };
}

/** The retry settings a client's maxRetries and backoff options make; the standalone createRole takes the defaults. */
function retryOf(maxRetries: number, backoff: NonNullable<ClientOptions["backoff"]>): RetrySettings {
  return {
    ...defaultRetrySettings,
    maxRetries,
    baseDelayMs: backoff.baseMs ?? defaultRetrySettings.baseDelayMs,
    maxDelayMs: backoff.maxMs ?? defaultRetrySettings.maxDelayMs,
    maxRetryAfterMs: backoff.maxRetryAfterMs ?? defaultRetrySettings.maxRetryAfterMs,
  };
}

/** The context every call of the client shares: transport, openapi-fetch client, gate, clock. */
function contextOf(settings: Settings, gate?: ContextGate): ClientContext {
  const { authorization, userAgent, clock } = settings;
  // As the URL parser writes it (lower-case scheme and host, no default port): operations' URLs are
  // built on it and checked as strings against its origin, unparsed.
  const base = assertSafeUrl(settings.baseUrl);
  const baseUrl = base.href.replace(/\/+$/, "");
  const guarded = guardedFetch(settings.fetch, authorization, base);
  const raw = createFetchClient<paths>({
    baseUrl,
    fetch: (input) => guarded(input),
    // A redirect is answered as an error: following it could hand the token to another host.
    redirect: "manual",
    headers: {
      Authorization: authorization,
      Accept: "application/json",
      // A compressed answer that fails to decode is lost inside fetch, one-time password and all.
      "Accept-Encoding": "identity",
      "User-Agent": userAgent ? `planetscale-roles/${VERSION} ${userAgent}` : `planetscale-roles/${VERSION}`,
    },
  });
  return {
    raw,
    fetch: guarded,
    baseUrl,
    timeoutMs: settings.timeoutMs,
    retry: settings.retry,
    log: settings.logger,
    secrets: secretsOf(authorization),
    gate,
    onRetry: settings.onRetry,
    clock,
  };
}

export function createClient(options: ClientOptions = {}): PlanetScaleClient {
  const settings = settle(options);
  const limiter = settings.rateLimiter || undefined;
  const base = createGate(settings.maxConcurrency, limiter);
  const gate = { ...base, refusal: gateRefusal, ...heldAtGate(base, settings.clock) };
  const ctx = contextOf(settings, gate);
  // A reset whose outcome is left open may already have made the old password invalid: its error says so.
  const call =
    <Op extends Operation>(facts: Op, explain?: Steps["explain"]) =>
    (params: OperationParams<Op["id"]>, requestOptions?: RequestOptions) =>
      responsePromise(callWithResponse(ctx, facts, params, requestOptions, { explain }));

  // Methods only: the credentials live in the closure, so logging the client shows no secret.
  const client: PlanetScaleClient = redactInspect({
    createRole: (params: CreateRoleParams, requestOptions?: CreateRoleOptions) =>
      responsePromise(createRoleWithRecovery(ctx, params, requestOptions)),
    listRoles: call(list_roles) as PlanetScaleClient["listRoles"],
    listAllRoles: (params: Omit<ListRolesParams, "page">, requestOptions?: RequestOptions) =>
      listAllRoles(ctx, params, requestOptions),
    createTemporaryRole: <T>(
      params: CreateRoleParams,
      use: (role: Role) => Promise<T> | T,
      requestOptions?: CreateRoleOptions,
    ) => createTemporaryRole(ctx, params, use, requestOptions),
    getRole: call(get_role),
    updateRole: call(update_role),
    deleteRole: call(delete_role) as PlanetScaleClient["deleteRole"],
    renewRole: call(renew_role),
    resetRole: call(reset_role, explainUnknownReset),
    reassignRoleObjects: call(reassign_role_objects) as PlanetScaleClient["reassignRoleObjects"],
    getDefaultRole: call(get_default_role),
    resetDefaultRole: call(reset_default_role, explainUnknownReset) as PlanetScaleClient["resetDefaultRole"],
    leaseRole: (params: CreateRoleParams, leaseOptions?: LeaseOptions) =>
      leaseRole({ client, clock: ctx.clock }, params, leaseOptions),
    raw: guardedRaw(ctx.raw),
  });
  return client;
}

const RAW_METHODS = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"] as const;

/**
 * openapi-fetch takes a `fetch` per request, which would skip the guarded fetch and its rules; the
 * operations use that option themselves, so `raw` is handed out with it refused.
 */
function guardedRaw(raw: Client<paths>): Client<paths> {
  type Send = (...args: unknown[]) => Promise<unknown>;
  // The options are the last argument of every method: (url, init), and request's (method, url, init).
  const checked =
    (send: Send, at: number) =>
    (...args: unknown[]) =>
      checkedRawInit(args[at]).then(() => send(...args));
  const methods = Object.fromEntries(RAW_METHODS.map((method) => [method, checked(raw[method] as Send, 1)]));
  return { ...raw, ...methods, request: checked(raw.request as Send, 2) } as Client<paths>;
}

/** createRole with a client built from the environment (PLANETSCALE_SERVICE_TOKEN_ID/…, PLANETSCALE_API_URL). */
export function createRole(params: CreateRoleParams, options?: CreateRoleOptions): ResponsePromise<Role> {
  // Straight to the pipeline rather than through createClient's methods, so that a bundle of
  // `import { createRole }` carries none of them (the lease above all). It takes no client options,
  // so of createClient's checks only those of what the environment gives apply: the credentials,
  // the base URL (guardedFetch), a global fetch; and of the defaults only the environment's (none
  // of the options' words or retry tuning). Its one call has no gate: nothing to share a
  // concurrency cap or a rate limiter with, and its 429s are waited out by the call itself.
  // Async, so that what the environment lacks is a rejection the caller's .catch() sees, not a throw.
  const call = async () => {
    const settings = environmentDefaults(processEnv());
    checkFetch(settings.fetch);
    const authorization = envAuthorizationHeader(settings.env);
    const ctx = contextOf({ ...settings, authorization, retry: defaultRetrySettings });
    return createRoleWithRecovery(ctx, params, options);
  };
  return responsePromise(call());
}
