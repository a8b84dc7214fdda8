// Everything that turns an upstream OpenAPI document into openapi/planetscale.yaml: reading the
// source, keeping the Roles operations, applying our overlays, validating, and writing YAML that
// every parser reads the same way.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { createConfig, lintFromString } from "@redocly/openapi-core";
import { openapiFilter, openapiOverlay } from "openapi-format";
import YAML from "yaml";

export const DEFAULT_SOURCE = "https://planetscale.com/docs/openapi.yaml";
export const ROLES_TAG = "Roles";
/**
 * The most spec:pull reads. PlanetScale's whole document (193 operations) is 2.4 MB
 * (test/fixtures/spec) and pulls in 4.5 s at 220 MB on 2 cores; 16 MiB lets it grow six-fold
 * before a person must raise this, while a pull stays near 10 s and under 1 GB (six copies of it,
 * 12 MB, took 8 s and 560 MB). A 50 MB document took 29 s and 655 MB.
 */
export const MAX_DOCUMENT_BYTES = 16 * 1024 * 1024;

export type OpenApiDocument = Record<string, unknown> & {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
};

/** A pull that cannot go on; the message is meant for the person who ran it. */
export class SpecError extends Error {
  override name = "SpecError";
}

export interface SpecLock {
  source: string;
  sha256: string;
  pulled_at: string;
  api_version: string;
  operations: string[];
  /** Changes that broke callers, kept until a person writes a decision for each (scripts/lib/decisions.ts). */
  breaking_changes?: RecordedChange[];
}

export interface RecordedChange {
  operation: string;
  where: string;
  field: string;
  kind: string;
  detail: string;
  pulled_at: string;
  /** What a person decided; empty until then, and `generate --check` fails while any is empty. */
  decision: string;
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

export async function readSource(from: string): Promise<Buffer> {
  if (/^https?:\/\//i.test(from)) {
    let response: Response;
    try {
      response = await fetch(from, { redirect: "follow", signal: AbortSignal.timeout(60_000) });
    } catch (error) {
      throw new SpecError(`could not reach ${from}: ${describeCause(error)}`);
    }
    if (!response.ok) throw new SpecError(`${from} answered ${response.status} ${response.statusText}`);
    // Node's web streams are async iterable; the DOM lib's ReadableStream type does not say so.
    return readCapped((response.body ?? []) as AsyncIterable<Uint8Array> | Uint8Array[], from);
  }
  // A stream, not readFile: the size of /dev/zero or a pipe is not known before reading it.
  return readCapped(createReadStream(from), from);
}

/** The bytes of `chunks`, refused as soon as they pass MAX_DOCUMENT_BYTES: an endless body ends there. */
async function readCapped(chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, from: string): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of chunks) {
      size += chunk.byteLength;
      if (size > MAX_DOCUMENT_BYTES) break;
      parts.push(chunk);
    }
  } catch (error) {
    throw new SpecError(`could not read ${from}: ${describeCause(error)}`);
  }
  if (size > MAX_DOCUMENT_BYTES) {
    throw new SpecError(
      `${from} is larger than ${MAX_DOCUMENT_BYTES / 1024 / 1024} MiB, the most spec:pull reads ` +
        "(PlanetScale's whole document is about 2.4 MB); refused",
    );
  }
  return Buffer.concat(parts);
}

function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as NodeJS.ErrnoException).code ?? error.message;
}

// PlanetScale's docs pages (…/reference/create_role.md) carry the operation's document in a
// fenced yaml block, opened by three or more backticks or tildes, among other examples.
const FENCE_OPENING = /^(`{3,}|~{3,})[ \t]*([^\s`]*)/;
const FENCE_CLOSING = /^(`{3,}|~{3,})[ \t]*$/;

/** The bodies of a page's closed fenced yaml blocks, in order: one pass over the lines, no backtracking. */
function fencedYamlBlocks(text: string): string[] {
  const blocks: string[] = [];
  let fence: string | undefined;
  let lines: string[] | undefined; // undefined inside a block of another language
  for (const line of text.split(/\r?\n/)) {
    if (fence === undefined) {
      const [, opening, info = ""] = FENCE_OPENING.exec(line) ?? [];
      fence = opening;
      lines = /^ya?ml$/.test(info) ? [] : undefined;
      continue;
    }
    const closing = FENCE_CLOSING.exec(line)?.[1];
    if (closing !== undefined && closing[0] === fence[0] && closing.length >= fence.length) {
      if (lines) blocks.push(lines.join("\n"));
      fence = undefined;
    } else {
      lines?.push(line);
    }
  }
  return blocks;
}

/** The text to parse: the page's first block that is an OpenAPI document, else its first yaml block, else all of it. */
function embeddedDocument(text: string): string {
  const blocks = fencedYamlBlocks(text);
  return blocks.find((block) => /^openapi:/m.test(block) && /^paths:/m.test(block)) ?? blocks[0] ?? text;
}

/**
 * YAML 1.2 (the library's default) reads the upstream's unquoted off/on as the strings their
 * authors meant; JSON is YAML too. Aliases are refused outright: an OpenAPI document is JSON's data
 * model and PlanetScale's uses none, while the yaml package's own cap (maxAliasCount 100) still
 * lets many distinct aliases take minutes (its alias lookup is quadratic: 32,000 of them in 1.1 MB
 * took 122 s) and lets an alias contain itself, a cycle every later step would follow.
 */
function parseYaml(body: string, origin: string): unknown {
  try {
    return YAML.parse(body, { maxAliasCount: 0 });
  } catch (error) {
    if (error instanceof ReferenceError) {
      throw new SpecError(
        `${origin} uses YAML aliases (*name), which an OpenAPI document does not need; refused, as aliases ` +
          "can expand without bound (an alias bomb). Write the value out, or use a $ref to #/components.",
      );
    }
    throw new SpecError(`${origin} is not YAML or JSON: ${(error as Error).message.split("\n")[0]}`);
  }
}

/** Parses OpenAPI 3.x from raw YAML, JSON, or a Markdown page that embeds it. */
export function parseDocument(text: string, origin: string): OpenApiDocument {
  const parsed = parseYaml(embeddedDocument(text), origin);
  if (!isObject(parsed)) throw new SpecError(`${origin} does not hold an OpenAPI document`);
  if ("swagger" in parsed) {
    throw new SpecError(`${origin} is Swagger ${String(parsed.swagger)}; only OpenAPI 3.x is supported`);
  }
  if (typeof parsed.openapi !== "string" || !/^3\.\d+/.test(parsed.openapi)) {
    const found = "openapi" in parsed ? `openapi: ${String(parsed.openapi)}` : "no openapi field";
    throw new SpecError(`${origin} is not an OpenAPI 3.x document (${found})`);
  }
  if (!isObject(parsed.paths)) throw new SpecError(`${origin} has no paths`);
  refuseExternalRefs(parsed, origin);
  return parsed as OpenApiDocument;
}

/** JSON pointers (RFC 6901) of every `$ref` under `value` that leaves the document. */
function externalRefs(value: unknown, pointer: string, found: string[]): string[] {
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) externalRefs(item, `${pointer}/${index}`, found);
  } else if (isObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const at = `${pointer}/${key.replaceAll("~", "~0").replaceAll("/", "~1")}`;
      if (key === "$ref" && typeof child === "string" && !child.startsWith("#")) found.push(at);
      else externalRefs(child, at, found);
    }
  }
  return found;
}

/**
 * The validator and openapi-typescript follow a `$ref` to a URL or a file, fetching it or inlining
 * what they read into src/generated, which the weekly workflow commits. Only references within the
 * document (`#/…`) are ours to follow; refuse the rest before any tool sees them.
 */
export function refuseExternalRefs(doc: Record<string, unknown>, origin: string): void {
  const found = externalRefs(doc, "", []);
  if (found.length === 0) return;
  const more = found.length > 3 ? ` (and ${found.length - 3} more)` : "";
  throw new SpecError(
    `${origin} has a $ref outside the document at ${found.slice(0, 3).join(", ")}${more}; ` +
      "only references within it (#/…) are allowed, so nothing is fetched or read from elsewhere",
  );
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * A request body's or an answer's JSON entry in `content`: application/json, else the same with
 * parameters (`; charset=utf-8`) or a `+json` type, which the client reads as JSON all the same.
 */
export function jsonMedia(content: unknown): unknown {
  if (!isObject(content)) return undefined;
  const json = (type: string) => {
    const base = (type.split(";")[0] ?? "").trim().toLowerCase();
    return base === "application/json" || (base.startsWith("application/") && base.endsWith("+json"));
  };
  const key = "application/json" in content ? "application/json" : Object.keys(content).find(json);
  return key === undefined ? undefined : content[key];
}

/** Every operation with an id, as `{ id, method: "POST", route }`. */
export function operationsOf(doc: OpenApiDocument): { id: string; method: string; route: string }[] {
  const found: { id: string; method: string; route: string }[] = [];
  for (const [route, item] of Object.entries(doc.paths)) {
    for (const method of HTTP_METHODS) {
      const op = item[method];
      if (isObject(op) && typeof op.operationId === "string") {
        found.push({ id: op.operationId, method: method.toUpperCase(), route });
      }
    }
  }
  return found;
}

export function operationIds(doc: OpenApiDocument): string[] {
  return operationsOf(doc).map((operation) => operation.id);
}

export async function keepRoles(doc: OpenApiDocument): Promise<OpenApiDocument> {
  const { data } = await openapiFilter(doc, {
    filterSet: {
      inverseTags: [ROLES_TAG],
      unusedComponents: ["schemas", "parameters", "examples", "headers", "requestBodies", "responses"],
      // `security: [{ oauth2: [] }]` and `headers: {}` mean something; keep them.
      preserveEmptyObjects: true,
    },
  });
  const kept = data as OpenApiDocument;
  if (operationIds(kept).length === 0) throw new SpecError(`the document has no operations tagged ${ROLES_TAG}`);
  return kept;
}

const OPERATION_TARGET = /^\$\.paths\['([^']+)'\]\.(get|put|post|delete|options|head|patch|trace)\b/;

/** False when an overlay action aims at an operation the document does not hold at all. */
function aimsAtPresentOperation(doc: OpenApiDocument, target = ""): boolean {
  const [, path, method] = OPERATION_TARGET.exec(target) ?? [];
  if (path === undefined || method === undefined) return true;
  const item = doc.paths[path];
  return isObject(item) && isObject(item[method]);
}

export async function applyOverlays(doc: OpenApiDocument, overlayDir: string): Promise<OpenApiDocument> {
  let names: string[];
  try {
    names = (await readdir(overlayDir)).filter((name) => /\.ya?ml$/.test(name)).sort();
  } catch {
    return doc;
  }
  let current = doc;
  for (const name of names) {
    const overlaySet = YAML.parse(await readFile(path.join(overlayDir, name), "utf8"));
    const { data, resultData } = await openapiOverlay(current, { overlaySet });
    // An action that matches nothing means upstream moved what we patch: say so, do not guess.
    // Unless the source holds no such operation at all (a docs page holds one): nothing to patch.
    const unused = ((resultData as { unusedActions?: { target?: string }[] }).unusedActions ?? []).filter((action) =>
      aimsAtPresentOperation(current, action.target),
    );
    if (unused.length > 0) {
      const targets = unused.map((action) => action.target).join(", ");
      throw new SpecError(`overlay ${name} no longer applies (nothing matches ${targets})`);
    }
    current = data as OpenApiDocument;
  }
  return current;
}

export async function validate(yamlText: string, origin: string): Promise<void> {
  const config = await createConfig({ extends: ["minimal"] });
  const problems = await lintFromString({ source: yamlText, absoluteRef: path.resolve("planetscale.yaml"), config });
  const errors = problems.filter((problem) => problem.severity === "error");
  if (errors.length > 0) {
    const lines = errors.slice(0, 10).map((p) => `  - ${p.message} (${p.location[0]?.pointer ?? "?"})`);
    throw new SpecError(`${origin} is not a valid OpenAPI document:\n${lines.join("\n")}`);
  }
}

/**
 * YAML that reads the same under 1.1 and 1.2 parsers: writing as 1.1 quotes every string a 1.1
 * parser would take for something else (off, on, yes, no…), which a 1.2 parser reads as strings too.
 */
export function toYaml(doc: unknown): string {
  return YAML.stringify(doc, { version: "1.1", lineWidth: 0, aliasDuplicateObjects: false });
}

export function sha256(bytes: Buffer | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export interface PulledSpec {
  doc: OpenApiDocument;
  yaml: string;
  lock: SpecLock;
}

/** Reads, filters, patches and validates; writes nothing. */
export async function pullSpec(from: string, overlayDir: string, now = new Date()): Promise<PulledSpec> {
  const bytes = await readSource(from);
  const upstream = parseDocument(bytes.toString("utf8"), from);
  const doc = await applyOverlays(await keepRoles(upstream), overlayDir);
  refuseExternalRefs(doc, `${from} with the overlays of ${overlayDir}`);
  const yaml = toYaml(doc);
  await validate(yaml, from);
  const info = isObject(doc.info) ? doc.info : {};
  return {
    doc,
    yaml,
    lock: {
      source: from,
      sha256: sha256(bytes),
      pulled_at: now.toISOString(),
      api_version: String(info.version ?? ""),
      operations: operationIds(doc),
    },
  };
}
