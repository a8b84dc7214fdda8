// Which Authorization header to send: a service token as `<id>:<token>` (no scheme word), or an
// OAuth access token as `Bearer <token>`; from options, else from the environment.
import { InvalidRequestError } from "./errors.ts";

export type ServiceToken = { id: string; token: string } | string;

export interface CredentialOptions {
  serviceToken?: ServiceToken;
  accessToken?: string;
}

type Env = Record<string, string | undefined>;

// A header value with a line break or other control character could smuggle in another header.
const HEADER_SAFE = /^[\x21-\x7e]+$/;

function checkPart(value: unknown, field: string, allowColon = true): string {
  if (typeof value !== "string" || value === "") {
    throw new InvalidRequestError(`${field} must be a non-empty string`, { field });
  }
  if (!HEADER_SAFE.test(value) || (!allowColon && value.includes(":"))) {
    const extra = allowColon ? "" : " other than ':'";
    throw new InvalidRequestError(`${field} must be printable ASCII${extra}, without spaces or line breaks`, { field });
  }
  return value;
}

/** `<id>:<token>`, each part checked; `field` names where they came from. */
function tokenPairHeader(id: unknown, token: unknown, field: string): string {
  return `${checkPart(id, `${field}.id`, false)}:${checkPart(token, `${field}.token`)}`;
}

function serviceTokenHeader(serviceToken: ServiceToken, field: string): string {
  if (typeof serviceToken === "string") {
    const colon = serviceToken.indexOf(":");
    if (colon <= 0 || colon === serviceToken.length - 1) {
      throw new InvalidRequestError(`${field} must be "<id>:<token>" or { id, token }`, { field });
    }
    return tokenPairHeader(serviceToken.slice(0, colon), serviceToken.slice(colon + 1), field);
  }
  if (typeof serviceToken !== "object" || serviceToken === null) {
    throw new InvalidRequestError(`${field} must be "<id>:<token>" or { id, token }`, { field });
  }
  return tokenPairHeader(serviceToken.id, serviceToken.token, field);
}

/** The Authorization header value; throws before any request when there are no usable credentials. */
export function authorizationHeader(options: CredentialOptions, env: Env): string {
  if (options.serviceToken !== undefined && options.accessToken !== undefined) {
    throw new InvalidRequestError("give serviceToken or accessToken, not both", { field: "serviceToken" });
  }
  if (options.serviceToken !== undefined) return serviceTokenHeader(options.serviceToken, "serviceToken");
  if (options.accessToken !== undefined) return `Bearer ${checkPart(options.accessToken, "accessToken")}`;
  return envAuthorizationHeader(env);
}

/**
 * The Authorization header value from the environment alone. The standalone createRole, which takes
 * no options, calls it directly, so that its bundle carries none of the options' forms.
 */
export function envAuthorizationHeader(env: Env): string {
  const id = env.PLANETSCALE_SERVICE_TOKEN_ID;
  const token = env.PLANETSCALE_SERVICE_TOKEN;
  if (id || token)
    return tokenPairHeader(id ?? "", token ?? "", "PLANETSCALE_SERVICE_TOKEN_ID/PLANETSCALE_SERVICE_TOKEN");
  if (env.PLANETSCALE_ACCESS_TOKEN)
    return `Bearer ${checkPart(env.PLANETSCALE_ACCESS_TOKEN, "PLANETSCALE_ACCESS_TOKEN")}`;
  throw new InvalidRequestError(
    'no PlanetScale credentials: pass serviceToken ({ id, token } or "id:token") or accessToken to createClient, ' +
      "or set PLANETSCALE_SERVICE_TOKEN_ID and PLANETSCALE_SERVICE_TOKEN (or PLANETSCALE_ACCESS_TOKEN)",
    { field: "serviceToken" },
  );
}

/**
 * Who the credentials are, for a shared store to keep one budget a token: the hex SHA-256 of the
 * Authorization value, never the value. Web Crypto, so that the main entry needs no node: module.
 */
export async function credentialsIdentity(authorization: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(authorization));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
