// The rules behind the decisions a spec change leaves open, on small inputs: what a pull records
// in the lock across pulls, and the policy rows that no longer match an operation.
import { describe, expect, it } from "vitest";
import { breakingDecisions, policyDecisions, recordBreaking } from "../scripts/lib/decisions.ts";
import type { OpenApiDocument, RecordedChange } from "../scripts/lib/spec.ts";
import type { SpecChange } from "../scripts/lib/spec-diff.ts";

const removed: SpecChange = {
  operation: "create_role",
  where: "response",
  field: "expired",
  kind: "field-removed",
  detail: "boolean removed",
  breaking: true,
};
const added: SpecChange = { ...removed, field: "region", kind: "field-added", detail: "string added", breaking: false };

describe("recording breaking changes in the lock", () => {
  it("records only the breaking changes, each with an empty decision and the pull's date", () => {
    expect(recordBreaking(undefined, [removed, added], "2027-01-04T06:17:00.000Z")).toEqual([
      {
        operation: "create_role",
        where: "response",
        field: "expired",
        kind: "field-removed",
        detail: "boolean removed",
        pulled_at: "2027-01-04T06:17:00.000Z",
        decision: "",
      },
    ]);
  });

  it("keeps what earlier pulls recorded, adds an undecided change once, and records it anew after a decision", () => {
    const first = recordBreaking(undefined, [removed], "2027-01-04T06:17:00.000Z");
    expect(recordBreaking(first, [removed], "2027-01-11T06:17:00.000Z")).toEqual(first);
    const decided: RecordedChange[] = first.map((change) => ({ ...change, decision: "Role loses expired." }));
    const again = recordBreaking(decided, [removed], "2027-01-18T06:17:00.000Z");
    expect(again).toEqual([decided[0], { ...first[0], pulled_at: "2027-01-18T06:17:00.000Z" }]);
  });

  it("asks only for the entries whose decision is still empty", () => {
    const open = recordBreaking(undefined, [removed, { ...removed, field: "ready" }], "2027-01-04T06:17:00.000Z");
    const [first, second] = open as [RecordedChange, RecordedChange];
    const messages = breakingDecisions({ breaking_changes: [{ ...first, decision: "done" }, second] }, "lock.json");
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(
      /^lock\.json records 1 breaking change that nobody has acknowledged:\n {2}- create_role response ready: boolean removed\n/,
    );
    expect(breakingDecisions({ breaking_changes: [{ ...first, decision: "done" }] }, "lock.json")).toEqual([]);
  });
});

describe("spec text in the decisions printed to the terminal", () => {
  it("shows control characters escaped, so a name can neither drive the terminal nor start a line", () => {
    const hostile = { ...removed, field: "ready\u001b[2J\n  - all decided" };
    const [message] = breakingDecisions({ breaking_changes: recordBreaking(undefined, [hostile], "now") }, "lock.json");
    expect(message).toContain("- create_role response ready\\u001b[2J\\n  - all decided: boolean removed\n");
    const doc: OpenApiDocument = {
      openapi: "3.0.1",
      paths: { "/roles\u0007": { get: { operationId: "list_roles\u009b31m", responses: {} } } },
    };
    expect(policyDecisions(doc, [])[0]).toMatch(/^operation list_roles\\u009b31m \(GET \/roles\\u0007\) has no row/);
  });
});

describe("the retry policy against the spec", () => {
  it("names a policy row whose operation left the spec", () => {
    const doc: OpenApiDocument = {
      openapi: "3.0.1",
      paths: { "/roles": { get: { operationId: "list_roles", responses: {} } } },
    };
    expect(policyDecisions(doc, ["list_roles", "renew_role"])).toEqual([
      "operationPolicy (src/retry.ts) has a row for renew_role, which the spec no longer has: remove the row, " +
        "and decide what becomes of the client method that calls it and of its place in README.md.",
    ]);
  });
});
