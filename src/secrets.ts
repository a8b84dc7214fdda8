// Keeping passwords and tokens out of everything a person or a log collector might see, while
// leaving them where the caller needs them (property access, JSON.stringify).

// Node's util.inspect (and so console.log) looks this symbol up; Symbol.for keeps this module free of
// node: imports so the package still loads in runtimes without node:util.
const INSPECT = Symbol.for("nodejs.util.inspect.custom");
const MASK = "[redacted]";
const SECRET_KEYS = new Set(["password", "token", "authorization", "accessToken", "serviceToken"]);

/** A copy with every secret-bearing property masked, for display only. */
export function masked(value: unknown, seen = new WeakSet<object>()): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (seen.has(value)) return "[Circular]";
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => masked(item, seen));
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    copy[key] = SECRET_KEYS.has(key) && item !== undefined && item !== "" ? MASK : masked(item, seen);
  }
  return copy;
}

/**
 * Makes util.inspect/console.log show `value` with its secrets masked. The hook is a
 * non-enumerable symbol, so JSON.stringify and spreading still see the real data.
 */
export function redactInspect<T extends object>(value: T): T {
  Object.defineProperty(value, INSPECT, {
    value(_depth: number, options: object, inspect: (value: unknown, options: object) => string) {
      const shown = masked(value);
      return typeof inspect === "function" ? inspect(shown, options) : shown;
    },
    enumerable: false,
    configurable: true,
  });
  return value;
}

// C0 and C1 controls, DEL, line and paragraph separators and bidirectional overrides: anything that
// can move a terminal's cursor, start an escape sequence, forge a log line or reorder what is shown.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text from the server made safe to print or log: control characters become visible escapes. */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** Masks every occurrence of the given secrets (an answer that echoes the token, for instance). */
export function redactText(text: string, secrets: readonly string[]): string {
  let result = text;
  for (const secret of secrets) result = result.split(secret).join(MASK);
  return result;
}

/**
 * What of an Authorization header value must never be shown: the whole value and the token in it,
 * longest first so that the whole value is masked as one.
 */
export function secretsOf(authorization: string): string[] {
  const token = authorization.startsWith("Bearer ")
    ? authorization.slice("Bearer ".length)
    : authorization.slice(authorization.indexOf(":") + 1);
  return [authorization, token];
}
