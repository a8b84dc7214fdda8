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

/** An own property that code can read but inspect, JSON and spreading do not show. */
export function hideProperty(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, writable: false, configurable: false });
}
