// HTTPS_PROXY, HTTP_PROXY and NO_PROXY (and their lower-case forms), read as curl, gh and pscale
// read them: the proxy for a URL is the one named for its scheme (HTTPS_PROXY for https, never
// HTTP_PROXY), unless NO_PROXY names its host. Node 20's fetch reads none of them. undici, the
// library Node's fetch is built on, routes by them (EnvHttpProxyAgent), and Node's fetch takes its
// dispatcher. It is loaded only when a proxy applies: most runs never pay for it. The library
// stays free of this: a service passes its own fetch (README, "Proxies").
import type { Dispatcher } from "undici";
import { UsageError } from "./failures.ts";

export interface ProxySettings {
  proxy: string;
  /** The variable it came from, for messages: "HTTPS_PROXY". */
  variable: string;
  noProxy: string;
}

/** The first of the variables that is set: lower case first, as curl and undici read them. */
function firstSet(env: Record<string, string | undefined>, name: string): [string, string] | undefined {
  for (const variable of [name.toLowerCase(), name]) {
    const value = env[variable];
    if (value) return [variable, value];
  }
  return undefined;
}

function checkedProxy(variable: string, value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {}
  // The value is not repeated: a proxy URL may carry a password.
  if (url?.protocol !== "http:" && url?.protocol !== "https:") {
    throw new UsageError(`${variable} must be an http or https proxy URL, such as http://proxy.example:3128`, {
      usage: false,
    });
  }
  return value;
}

/**
 * The proxy for requests to `apiUrl` (every request of a run goes to that one origin), checked;
 * undefined when the environment names none for its scheme.
 */
export function proxySettings(env: Record<string, string | undefined>, apiUrl: string): ProxySettings | undefined {
  const scheme = URL.canParse(apiUrl) ? new URL(apiUrl).protocol : "";
  const named =
    scheme === "https:" || scheme === "http:" ? firstSet(env, `${scheme.slice(0, -1).toUpperCase()}_PROXY`) : undefined;
  if (!named) return undefined;
  const [variable, value] = named;
  return { proxy: checkedProxy(variable, value), variable, noProxy: firstSet(env, "NO_PROXY")?.[1] ?? "" };
}

/** A dispatcher for Node's fetch that sends through the proxy, except to the hosts NO_PROXY names. */
export async function proxyDispatcher({ proxy, noProxy }: ProxySettings): Promise<Dispatcher> {
  const { EnvHttpProxyAgent } = await import("undici");
  // Every setting given, so that undici reads nothing from process.env itself. The one proxy
  // serves both schemes: only the API's scheme is ever asked for.
  return new EnvHttpProxyAgent({ httpProxy: proxy, httpsProxy: proxy, noProxy });
}

/** For --debug: the proxy without its user and password. */
export function proxyLine({ proxy, variable, noProxy }: ProxySettings): string {
  const except = noProxy ? `, except for the hosts in NO_PROXY (${noProxy})` : "";
  return `requests go through the proxy ${new URL(proxy).origin} (${variable})${except}`;
}
