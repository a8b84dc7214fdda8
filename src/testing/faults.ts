// Faults a test asks for with failNext: the next call of an operation answers an error status, a
// 429 with Retry-After, waits first, or loses its connection after the server acted.
import { type OperationId, operations } from "../generated/operations.ts";
import { errorAnswer } from "./answers.ts";

export type FakeFault =
  /** Answer this status with the API's `{ code, message }` body; the server does nothing. */
  | { status: number; code?: string; message?: string }
  /** Answer 429 `too_many_requests` with this `Retry-After` (seconds, or any printable ASCII: an HTTP date, say); the server does nothing. */
  | { retryAfter: number | string }
  /** Wait this long before acting and answering; the request's AbortSignal ends the wait, and then nothing is done. */
  | { delayMs: number }
  /** Act, then drop the connection: fetch rejects as undici does on ECONNRESET, and the state has changed. */
  | { connectionReset: true };

function describeFault(fault: unknown): string | undefined {
  if (typeof fault !== "object" || fault === null) return "must be an object";
  const given = fault as Record<string, unknown>;
  if ("status" in given) {
    const ok = Number.isInteger(given.status) && (given.status as number) >= 400 && (given.status as number) <= 599;
    return ok ? undefined : "status must be an integer from 400 to 599";
  }
  if ("retryAfter" in given) {
    const value = given.retryAfter;
    // Any text a header can carry, so that a test can send a server's odd Retry-After; a line break
    // would make the answer's Headers throw, which the client would read as a lost connection.
    const ok =
      (typeof value === "number" && Number.isInteger(value) && value >= 0) ||
      (typeof value === "string" && /^[\x20-\x7e]*$/.test(value));
    return ok
      ? undefined
      : "retryAfter must be a whole number of seconds of 0 or more, or a header value of printable ASCII (an HTTP date, say)";
  }
  if ("delayMs" in given) {
    const ok = typeof given.delayMs === "number" && Number.isFinite(given.delayMs) && given.delayMs >= 0;
    return ok ? undefined : "delayMs must be a number of 0 or more";
  }
  if (given.connectionReset === true) return undefined;
  return "must be one of { status }, { retryAfter }, { delayMs } or { connectionReset: true }";
}

/** Faults waiting for their operation, first asked first served. */
export function createFaultQueue() {
  const queued = new Map<OperationId, FakeFault[]>();
  return {
    add(operation: OperationId, fault: FakeFault): void {
      if (typeof operation !== "string" || !Object.hasOwn(operations, operation)) {
        throw new TypeError(
          `failNext: operation must be one of ${Object.keys(operations).join(", ")}; got ${JSON.stringify(operation)}`,
        );
      }
      const problem = describeFault(fault);
      if (problem) throw new TypeError(`failNext: fault ${problem}; got ${JSON.stringify(fault)}`);
      queued.set(operation, [...(queued.get(operation) ?? []), { ...fault }]);
    },
    take(operation: OperationId): FakeFault | undefined {
      return queued.get(operation)?.shift();
    },
  };
}

/** What undici's fetch throws when the server resets the connection. */
export function connectionResetError(): TypeError {
  const cause = Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET", errno: -104, syscall: "read" });
  return new TypeError("fetch failed", { cause });
}

/** The answer a status or rate-limit fault gives in place of the operation's; undefined for the others. */
export function faultAnswer(fault: FakeFault, operation: OperationId): Response | undefined {
  if ("status" in fault)
    return errorAnswer(fault.status, fault.message ?? `${operation} failed (failNext)`, fault.code);
  if ("retryAfter" in fault) {
    const headers = { "retry-after": String(fault.retryAfter) };
    return errorAnswer(429, "Rate limit exceeded (failNext)", "too_many_requests", headers);
  }
  return undefined;
}
