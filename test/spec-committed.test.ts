// What must hold of the committed openapi/planetscale.yaml whatever upstream version it came from:
// checked as properties, never as bytes against a frozen copy, so a real upstream change passes.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { pendingDecisions } from "../scripts/lib/decisions.ts";
import {
  applyOverlays,
  isObject,
  type OpenApiDocument,
  operationIds,
  parseDocument,
  validate,
} from "../scripts/lib/spec.ts";
import { operationPolicy } from "../src/retry.ts";
import { ROOT } from "./support/run.ts";

const SPEC = path.join(ROOT, "openapi/planetscale.yaml");
let text: string;
let doc: OpenApiDocument;

/** The value with every array's repeated elements dropped. */
function withoutRepeats(value: unknown): unknown {
  if (Array.isArray(value)) {
    const kept: unknown[] = [];
    for (const item of value.map(withoutRepeats)) if (!kept.some((k) => isDeepStrictEqual(k, item))) kept.push(item);
    return kept;
  }
  if (!isObject(value)) return value;
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withoutRepeats(item)]));
}

beforeAll(async () => {
  text = await readFile(SPEC, "utf8");
  doc = parseDocument(text, SPEC);
});

describe("the committed openapi/planetscale.yaml", () => {
  it("is a valid OpenAPI document", async () => {
    await expect(validate(text, SPEC)).resolves.toBeUndefined();
  });

  it("holds only operations tagged Roles, exactly the ones its lock lists", async () => {
    const lock = JSON.parse(await readFile(path.join(ROOT, "openapi/planetscale.lock.json"), "utf8"));
    const ids = operationIds(doc);
    expect(ids).toContain("create_role");
    expect([...lock.operations].sort()).toEqual([...ids].sort());
    const untagged = Object.values(doc.paths)
      .flatMap((item) => Object.values(item))
      .filter((op) => isObject(op) && !(Array.isArray(op.tags) && op.tags.includes("Roles")));
    expect(untagged).toEqual([]);
  });

  it("has a retry-policy row for every operation and nothing undecided in its lock", async () => {
    expect(await pendingDecisions(SPEC, Object.keys(operationPolicy))).toEqual([]);
  });

  it("has openapi/overlays applied: applying them again adds nothing new", async () => {
    // An overlay's update appends to arrays, so a second application repeats elements; anything
    // else it changed would mean the committed spec lacks that overlay.
    const again = await applyOverlays(structuredClone(doc), path.join(ROOT, "openapi/overlays"));
    expect(withoutRepeats(again)).toEqual(withoutRepeats(doc));
  });

  it("reads the same under YAML 1.1 and YAML 1.2", () => {
    expect(YAML.parse(text, { version: "1.1" })).toEqual(YAML.parse(text, { version: "1.2" }));
  });
});
