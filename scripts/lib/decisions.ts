// What a spec change leaves for a person to decide, so that a pull cannot ship it undecided:
// `generate --check`, the first step of npm test, fails on each with a message that says what to
// decide and where. Two kinds: an operation with no row in the retry policy (whether repeating it
// is harmless is a judgement about PlanetScale's side, which the spec does not state), and a change
// that breaks callers, which spec:pull records in the lock until a person writes their decision.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { printable } from "../../src/secrets.ts";
import { type OpenApiDocument, operationsOf, parseDocument, type RecordedChange, type SpecLock } from "./spec.ts";
import type { SpecChange } from "./spec-diff.ts";

const POLICY = "operationPolicy (src/retry.ts)";

export function policyDecisions(doc: OpenApiDocument, policyIds: readonly string[]): string[] {
  const operations = operationsOf(doc);
  const missing = operations
    .filter((operation) => !policyIds.includes(operation.id))
    .map(
      ({ id, method, route }) =>
        `operation ${printable(id)} (${method} ${printable(route)}) has no row in ${POLICY}: ` +
        "decide whether sending it again after " +
        "a 5xx, a reset or a timeout is harmless (repeatable: true) or could act twice (repeatable: false) in " +
        "operationRules, say why in operationReasons, and list it in the Retries table of README.md.",
    );
  const stale = policyIds
    .filter((id) => !operations.some((operation) => operation.id === id))
    .map(
      (id) =>
        `${POLICY} has a row for ${id}, which the spec no longer has: remove the row, and decide what becomes ` +
        "of the client method that calls it and of its place in README.md.",
    );
  return [...missing, ...stale];
}

export function breakingDecisions(lock: Pick<SpecLock, "breaking_changes">, lockName: string): string[] {
  const open = (lock.breaking_changes ?? []).filter((change) => change.decision.trim() === "");
  if (open.length === 0) return [];
  const count = open.length === 1 ? "1 breaking change" : `${open.length} breaking changes`;
  const lines = open.map(
    (change) => `  - ${printable(`${change.operation} ${change.where} ${change.field}: ${change.detail}`)}`,
  );
  return [
    [
      `${lockName} records ${count} that nobody has acknowledged:`,
      ...lines,
      `Decide what ${open.length === 1 ? "it means" : "each means"} for callers (src/ code that sends or reads it, ` +
        'the README, CHANGELOG.md), then write that decision in its "decision" field under "breaking_changes" ' +
        `in ${lockName}.`,
    ].join("\n"),
  ];
}

/** The decisions still open for the spec at `specPath` and the lock beside it. */
export async function pendingDecisions(specPath: string, policyIds: readonly string[]): Promise<string[]> {
  const doc = parseDocument(await readFile(specPath, "utf8"), specPath);
  const lockPath = path.join(path.dirname(specPath), "planetscale.lock.json");
  const lockText = await readFile(lockPath, "utf8").catch(() => "{}");
  const lockName = path.relative(process.cwd(), lockPath) || lockPath;
  return [...policyDecisions(doc, policyIds), ...breakingDecisions(JSON.parse(lockText), lockName)];
}

/**
 * The lock's breaking changes after a pull: those recorded before, decided or not (the decisions
 * stay as a record), and the new ones, once each while undecided.
 */
export function recordBreaking(
  recorded: readonly RecordedChange[] | undefined,
  changes: readonly SpecChange[],
  pulledAt: string,
): RecordedChange[] {
  const kept = [...(recorded ?? [])];
  for (const { operation, where, field, kind, detail, breaking } of changes) {
    if (!breaking) continue;
    const pending = kept.some(
      (c) =>
        c.decision === "" && c.operation === operation && c.where === where && c.field === field && c.kind === kind,
    );
    if (!pending) kept.push({ operation, where, field, kind, detail, pulled_at: pulledAt, decision: "" });
  }
  return kept;
}
