// Keeping passwords and tokens out of everything a person or a log collector might see, while
// leaving them where the caller needs them (property access, JSON.stringify).

// Node's util.inspect (and so console.log) looks this symbol up; Symbol.for keeps this module free of
// node: imports so the package still loads in runtimes without node:util.
const INSPECT = Symbol.for("nodejs.util.inspect.custom");
const MASK = "[redacted]";
const SECRET_KEYS = new Set(["password", "token", "authorization", "accessToken", "serviceToken"]);

/**
 * A copy with every secret-bearing property masked, for display only, `depth` levels below `value`:
 * deeper, inspect shows an object as [Object] whatever it holds, and copying an answer nested
 * thousands deep would overflow the stack.
 */
export function masked(value: unknown, depth: number, seen = new WeakSet<object>()): unknown {
  if (typeof value !== "object" || value === null || depth < 0) return value;
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => masked(item, depth - 1, seen));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = SECRET_KEYS.has(key) && item !== undefined && item !== "" ? MASK : masked(item, depth - 1, seen);
  }
  return copy;
}

/**
 * Makes util.inspect/console.log show `value` with its secrets masked (or as `show` gives it). The
 * hook is a non-enumerable symbol, so JSON.stringify and spreading still see the real data.
 */
export function redactInspect<T extends object>(value: T, show: (value: T, depth: number) => unknown = masked): T {
  Object.defineProperty(value, INSPECT, {
    // Node shows the answer to options.depth (the whole depth, not the `depth` left where it is met).
    value(_depth: number, options: { depth?: number | null }, inspect: (value: unknown, options: object) => string) {
      const shown = show(value, options?.depth ?? Number.POSITIVE_INFINITY);
      return typeof inspect === "function" ? inspect(shown, options) : shown;
    },
    enumerable: false,
    configurable: true,
  });
  return value;
}

/**
 * Characters that can move a terminal's cursor, start an escape sequence, forge a log line or
 * reorder what is read: C0 and C1 controls, DEL, line and paragraph separators, bidi marks and
 * overrides. As a regular-expression class body, for the CLI's variants of `printable`.
 */
export const CONTROL_CHARACTERS =
  "\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069";
const EVERY_CONTROL = new RegExp(`[${CONTROL_CHARACTERS}]`, "g");

// The short forms JSON uses, so that an escaped value reads as it would in JSON.
const SHORT: Record<string, string> = { "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r" };

/** A control character as a visible escape, in JSON's style (`\u001b`, `\n`). */
export const escapeControl = (char: string): string =>
  SHORT[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** Text from the server made safe to print or log on one line: control characters become escapes. */
export function printable(text: string): string {
  return text.replace(EVERY_CONTROL, escapeControl);
}

/** Masks every occurrence of the given secrets (an answer that echoes the token, for instance). */
export function redactText(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join(MASK);
  return result;
}

/**
 * What of an Authorization header value must never be shown: the whole value and the token in it,
 * each also as a URL would encode it; each whole form before the token it contains, so that the
 * whole value is masked as one. A service token's id stays visible: it names the token, as a
 * username does, and says which one failed.
 */
export function secretsOf(authorization: string): string[] {
  const token = authorization.startsWith("Bearer ")
    ? authorization.slice("Bearer ".length)
    : authorization.slice(authorization.indexOf(":") + 1);
  return [...new Set([authorization, encodeURIComponent(authorization), token, encodeURIComponent(token)])];
}

/**
 * What `withResponse()` gives, as util.inspect shows it: the response as its status and URL, not its
 * headers, which may echo the credentials (reading `response.headers` in code is unchanged).
 */
export const withoutHeaders = <T extends { response: Response }>({ response, ...rest }: T) => {
  const { status, statusText, url } = response;
  return { ...rest, response: { status, statusText, url } };
};
