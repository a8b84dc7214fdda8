// The debug log. Events carry only method, path, status, timing and ids (see RequestLogEvent):
// secrets cannot reach a log line because they are never put in an event.
import type { RequestLogEvent } from "./types.ts";

export function formatLogEvent(event: RequestLogEvent): string {
  const outcome = event.status !== undefined ? String(event.status) : (event.error ?? "no answer");
  const id = event.requestId ? ` request-id=${event.requestId}` : "";
  const error = event.status !== undefined && event.error ? ` ${event.error}` : "";
  return `planetscale-roles ${event.operation} ${event.method} ${event.path} ${outcome}${error} ${event.durationMs}ms attempt=${event.attempt}${id}`;
}

export function debugLogger(env: Record<string, string | undefined>): ((event: RequestLogEvent) => void) | undefined {
  const flag = env.PLANETSCALE_DEBUG;
  if (!flag || flag === "0" || flag === "false") return undefined;
  return (event) => console.error(formatLogEvent(event));
}
