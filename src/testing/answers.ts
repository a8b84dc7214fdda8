// How the fake answers: JSON bodies and the API's `{ code, message }` errors, each with a request id
// as the real API sends one.
import { randomRequestId } from "./random.ts";

// The codes PlanetScale's error bodies carry for each status (see the spec's README facts).
const CODES: Record<number, string> = {
  400: "bad_request",
  401: "unauthorized",
  403: "forbidden",
  404: "not_found",
  422: "unprocessable",
  429: "too_many_requests",
};

export function errorCodeFor(status: number): string {
  return CODES[status] ?? (status >= 500 ? "internal_server_error" : "bad_request");
}

function headers(extra: Record<string, string> = {}): Headers {
  return new Headers({ "x-request-id": randomRequestId(), ...extra });
}

export function jsonAnswer(status: number, body: unknown, extra?: Record<string, string>): Response {
  const all = headers(extra);
  all.set("content-type", "application/json; charset=utf-8");
  return new Response(JSON.stringify(body), { status, headers: all });
}

export function emptyAnswer(status: number): Response {
  return new Response(null, { status, headers: headers() });
}

export function errorAnswer(
  status: number,
  message: string,
  code = errorCodeFor(status),
  extra?: Record<string, string>,
): Response {
  return jsonAnswer(status, { code, message }, extra);
}
