// The library's errors told in the command's words: flags, arguments and commands instead of
// option names and library calls, and which command to run when an outcome is unknown.
import { AbortError, InvalidRequestError, type PlanetScaleError, UnexpectedResponseError } from "../errors.ts";
import type { Invocation } from "./args.ts";
import { argumentLabel } from "./commands.ts";
import { type Credentials, quoteEnvValue } from "./env-file.ts";
import type { Interrupted } from "./failures.ts";

// Where the library starts its own advice (in library calls) about an unknown outcome.
const OUTCOME_MARKER = ". The outcome is unknown:";

/** The flag or argument a library field came from: inherited_roles[1] is --inherited-roles, id is <id>. */
function argumentOf(field: string, invocation: Invocation): string | undefined {
  const leaf = field.replace(/\[\d+\]$/, "");
  if (leaf === "organization") return "--org";
  const { command } = invocation;
  const index = command.positionals.indexOf(leaf);
  if (index !== -1) return argumentLabel(command, index);
  const flag = leaf.replace(/_/g, "-");
  return Object.hasOwn(command.options, flag) ? `--${flag}` : undefined;
}

// createClient's fields, by where the command takes them from.
const CLIENT_FIELDS: Record<string, string> = {
  serviceToken: "--service-token-id/--service-token",
  "serviceToken.id": "--service-token-id",
  "serviceToken.token": "--service-token",
  accessToken: "--access-token",
  "PLANETSCALE_SERVICE_TOKEN_ID/PLANETSCALE_SERVICE_TOKEN.id": "PLANETSCALE_SERVICE_TOKEN_ID",
  "PLANETSCALE_SERVICE_TOKEN_ID/PLANETSCALE_SERVICE_TOKEN.token": "PLANETSCALE_SERVICE_TOKEN",
};

/** The field that the message starts with (after the operation id), replaced by its name on the command line. */
function renamedField(error: InvalidRequestError, name: string | undefined): string {
  let text = error.message;
  const prefix = error.operation ? `${error.operation}: ` : "";
  if (prefix && text.startsWith(prefix)) text = text.slice(prefix.length);
  const { field } = error;
  return name && field && text.startsWith(field) ? name + text.slice(field.length) : text;
}

/**
 * createClient refused the credentials or the address: say which flag or variable to fix.
 * `baseUrlFlag`: how the address's flag was spelled, when it came from one.
 */
export function clientErrorText(error: InvalidRequestError, baseUrlFlag: string | undefined): string {
  const field = error.field ?? "";
  const name = field === "baseUrl" ? (baseUrlFlag ?? "PLANETSCALE_API_URL") : CLIENT_FIELDS[field];
  return renamedField(error, name);
}

/** A shell word a person can paste: bare when safe (or a placeholder such as <id>), else single-quoted. */
function shellWord(word: string): string {
  return /^[\w.,:/=@%+-]+$|^<\w+>$/.test(word) ? word : quoteEnvValue(word);
}

function commandLine(invocation: Invocation, words: (string | undefined)[], extra: string[] = []): string {
  const { args, values } = invocation;
  const baseUrl = typeof values["base-url"] === "string" ? ["--base-url", values["base-url"]] : [];
  const all = [...words, "--org", args.organization, ...baseUrl, ...extra].filter((word) => word !== undefined);
  return `\`planetscale-roles ${all.map((word) => shellWord(word as string)).join(" ")}\``;
}

/**
 * What an unknown outcome means for this command, and what to run to find out or to recover.
 * `why`: what follows "the role may have been created", when the reason needs saying.
 */
function outcomeAdvice(invocation: Invocation, why = ""): string | undefined {
  const { name, args } = invocation;
  const branch = [args.database, args.branch];
  const get = commandLine(invocation, ["get", ...branch, args.id]);
  const unknown = "The outcome is unknown:";
  switch (name) {
    case "create": {
      const byName = args.name === undefined ? [] : ["--q", args.name];
      return (
        `${unknown} the role may have been created${why}. ` +
        `Check with ${commandLine(invocation, ["list", ...branch], byName)} and delete any role you cannot use ` +
        `with ${commandLine(invocation, ["delete", ...branch, "<id>"])}.`
      );
    }
    case "reset":
    case "reset-default": {
      const again = name === "reset" ? ["reset", ...branch, args.id] : ["reset-default", ...branch];
      const force = name === "reset" ? [] : ["--force"];
      return `${unknown} the password may have been reset, so the old password may no longer work. Run ${commandLine(invocation, again, force)} again to get a working one.`;
    }
    case "delete":
      return `${unknown} the role may have been deleted. Check with ${get} (not found means it is gone).`;
    case "update":
    case "renew":
    case "reassign":
      return `${unknown} the change may have been made. Check with ${get}.`;
    default:
      return undefined;
  }
}

/** A 2xx whose body the client could not use: the body is printed on stdout. */
export function isUnusableAnswer(error: unknown): error is UnexpectedResponseError {
  const status = (error as UnexpectedResponseError).status ?? 0;
  return error instanceof UnexpectedResponseError && status >= 200 && status < 300 && error.body !== "";
}

/** One line about a library error, in the command's words. */
export function failureText(error: PlanetScaleError, invocation: Invocation): string {
  if (error instanceof InvalidRequestError) return renamedField(error, argumentOf(error.field ?? "", invocation));
  let text = error.message;
  const marker = text.indexOf(OUTCOME_MARKER);
  if (marker !== -1) text = text.slice(0, marker);
  const advice: string[] = [];
  if (isUnusableAnswer(error)) {
    // The library's own advice here is about error.body; the command prints the body instead.
    text = text.split(/\.(?:\s|$)/)[0] as string;
    advice.push(
      invocation.command.credentials
        ? "It took effect on the server: the raw answer is on stdout and may hold the only copy of the password; store it now."
        : "The raw answer is on stdout.",
    );
  }
  if (error.operation) text = text.replace(new RegExp(`\\b${error.operation}\\b`, "g"), invocation.name);
  text = text.replace(" (timeoutMs)", "");
  const why = " although no usable answer came back, so it was not sent again";
  const outcome = error.outcomeUnknown ? outcomeAdvice(invocation, why) : undefined;
  if (outcome) advice.push(outcome);
  return advice.length === 0 ? text : `${text.replace(/\.$/, "")}. ${advice.join(" ")}`;
}

/** The one-time password was printed to a stdout whose reader had gone: what exists, and how to get a password for it. */
export function unwrittenPasswordText(invocation: Invocation, role: Credentials): string {
  const { name, args } = invocation;
  const branch = [args.database, args.branch];
  const where = `${args.organization}/${args.database}/${args.branch}`;
  const lost = "the password could not be written: stdout was closed.";
  if (name === "reset-default") {
    return `${lost} The default credentials of ${where} were reset, and nobody has the new password: run ${commandLine(invocation, ["reset-default", ...branch], ["--force"])} again.`;
  }
  const id = typeof role.id === "string" ? role.id : role.username;
  const label = `${typeof role.name === "string" ? role.name : role.username} (id ${id})`;
  const reset = commandLine(invocation, ["reset", ...branch, id]);
  if (name === "reset") {
    return `${lost} The password of role ${label} on ${where} was reset, and nobody has the new one: run ${reset} again.`;
  }
  const remove = commandLine(invocation, ["delete", ...branch, id]);
  return `${lost} The role ${label} exists on ${where}, and nobody has its password: get a new one with ${reset}, or delete the role with ${remove}.`;
}

/**
 * The command was interrupted. The library's AbortError says whether the request may have taken
 * effect; anything else the interrupt ended (a question, say) happened before sending. `sent`: a
 * request went out (and was refused, or never connected: a wait to retry was cut short).
 */
export function interruptedText(
  error: unknown,
  invocation: Invocation | undefined,
  interrupt: Interrupted,
  sent: boolean,
): string {
  const head = `${invocation?.name ?? "planetscale-roles"} was interrupted (${interrupt.signal})`;
  const mayHaveActed = error instanceof AbortError && error.outcomeUnknown;
  if (!mayHaveActed || !invocation) {
    if (!sent) return `${head} before anything was sent.`;
    return `${head} before it took effect${invocation?.name === "create" ? ": no role was created" : ""}.`;
  }
  const outcome = outcomeAdvice(invocation);
  return outcome ? `${head} after the request was sent. ${outcome}` : `${head} while waiting for the answer.`;
}

/** A role made without an expiry stays until someone deletes it: say so, with the command that does. */
export function neverExpiresText(invocation: Invocation, role: Credentials): string {
  const { args } = invocation;
  const id = typeof role.id === "string" ? role.id : "<id>";
  const remove = commandLine(invocation, ["delete", args.database, args.branch, id]);
  const name = typeof role.name === "string" ? role.name : role.username;
  return `role ${name} never expires: delete it when it is no longer needed (${remove}), or give --ttl (1h, 7d) next time.`;
}
