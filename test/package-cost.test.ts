// What the built package costs a user, kept from sliding back past issue 16's targets: the bundle
// `import { createRole }` makes and the types a type-check of an importing file creates. Both are
// deterministic for a given build and tool versions (bench/package-cost.ts prints them in full).
// `npm test` builds dist/ before this runs.
import { describe, expect, it } from "vitest";
import { createRoleBundle, TYPE_COST_TARGET, typesToCheck } from "./support/package-size.ts";
import { ROOT } from "./support/run.ts";

// Issue 16's targets: at most 14 500 B min+gzip, and at most 0.85x Octokit core + plugin-retry +
// plugin-throttling (17 000 B), which is 14 450 B and so the one that binds. The outside attacks'
// fixes had brought it to 14 495 B, 45 B over; the answer check's code for types no Roles operation
// has (a union of types, number, null: 93 B), which the generator now refuses to write instead,
// brought it to 14 411 B; callWithResponse's own-failure test in a function of its own (to read the
// loop at once) took 9 B: 14 420 B. The scan for a credential key given twice, made linear and
// confined to the answer's own keys (an outside attack: quadratic on escaped quotes, and a nested
// username refused a create), took 36 B, less 6 B from a shorter reason on the deadline's abort:
// 14 450 B, 0.85x. The ceiling holds that figure: a change that adds bytes says so here (the
// history is in git log), and bench:package says where they went.
const CREATE_ROLE_GZIP_CEILING = 14_450;

describe("the cost of the package", () => {
  it("import { createRole } bundles to no more than its ceiling, min+gzip", async () => {
    expect((await createRoleBundle(ROOT)).gzip).toBeLessThanOrEqual(CREATE_ROLE_GZIP_CEILING);
  });

  it("import { createRole } carries none of the retry policy's reasons, which only operationPolicy's importers need", async () => {
    const { text } = await createRoleBundle(ROOT);
    expect(text).toContain("planetscale-roles/");
    for (const words of ["mints another role", "reads only", "objects already owned by the successor"]) {
      expect(text).not.toContain(words);
    }
  });

  it("import { createRole } carries none of the words of what only createClient takes: credentials in options, a gate", async () => {
    const { text } = await createRoleBundle(ROOT);
    expect(text).toContain("no PlanetScale credentials");
    for (const words of ["not both", "<id>:<token>", "while waiting at the rate-limit gate"]) {
      expect(text).not.toContain(words);
    }
  });

  // Two whole programs, declarations checked too: some 25 s of CPU on a busy 2-core machine.
  it("a file that imports it type-checks with at most 1.5x the types of an empty file (issue 16)", {
    timeout: 240_000,
  }, () => {
    const empty = typesToCheck(ROOT, "export {};\n");
    const importing = typesToCheck(ROOT, 'import * as roles from "planetscale-roles";\nexport const used = roles;\n');
    expect(importing).toBeGreaterThan(empty);
    expect(importing / empty).toBeLessThanOrEqual(TYPE_COST_TARGET);
  });
});
