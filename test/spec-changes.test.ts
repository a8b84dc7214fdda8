// Following PlanetScale's spec: pulls from files and a local HTTP server, the change summary on
// crafted variants, the regenerated types, and the refusals that leave the current spec alone.
import { cp, readdir, readFile, writeFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import path from "node:path";
import { marked } from "marked";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { render } from "../scripts/lib/generate.ts";
import { MAX_DOCUMENT_BYTES, type OpenApiDocument, pullSpec } from "../scripts/lib/spec.ts";
import { diffSpecs, formatSummary, type SpecChange } from "../scripts/lib/spec-diff.ts";
import { ROOT, runTs, tempDir } from "./support/run.ts";
import { closedPort, startServer, type TestServer } from "./support/servers.ts";
import { DOCS_PAGE, externalRefTargets, type RefTargets, unpackUpstream } from "./support/spec-fixtures.ts";

const OVERLAYS = path.join(ROOT, "openapi/overlays");
const CREATE_PATH = "/organizations/{organization}/databases/{database}/branches/{branch}/roles";

let dir: string;
let cleanup: () => Promise<void>;
let server: TestServer;
let docsText: string;
let baseline: OpenApiDocument;
let fullSpec: string;
let refs: RefTargets;

// biome-ignore lint/suspicious/noExplicitAny: variants poke into arbitrary places of a parsed spec.
type Loose = any;

/** The docs page's embedded document, parsed, for crafting variants. */
function docsDocument(): Loose {
  const fenced = /^````yaml[^\n]*\n([\s\S]*?)^````/m.exec(docsText);
  return YAML.parse(fenced?.[1] ?? "");
}

async function writeVariant(name: string, edit: (doc: Loose) => void, asJson = false): Promise<string> {
  const doc = docsDocument();
  edit(doc);
  const file = path.join(dir, asJson ? `${name}.json` : `${name}.yaml`);
  await writeFile(file, asJson ? JSON.stringify(doc) : YAML.stringify(doc));
  return file;
}

/** Top-level YAML where each level holds nine aliases of the level below: 9^levels strings once expanded. */
function aliasBomb(levels: number): string {
  const lines = [`x-level0: &level0 [${Array(9).fill('"lol"').join(", ")}]`];
  for (let level = 1; level <= levels; level++) {
    lines.push(
      `x-level${level}: &level${level} [${Array(9)
        .fill(`*level${level - 1}`)
        .join(", ")}]`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** A 200 whose body never ends: YAML comment lines, written as fast as the client reads them. */
function answerForever(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "text/yaml" });
  const chunk = Buffer.from(`# ${"x".repeat(1021)}\n`.repeat(64));
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) {}
  };
  res.on("drain", pump);
  pump();
}

async function changesFor(file: string): Promise<SpecChange[]> {
  return diffSpecs(baseline, (await pullSpec(file, OVERLAYS)).doc);
}

const createOp = (doc: Loose) => doc.paths[CREATE_PATH].post;
const createBody = (doc: Loose) => createOp(doc).requestBody.content["application/json"].schema;
// A control character a terminal would act on; line breaks aside, as printed output has them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

// Where a $ref put into create_role's request body is, as a JSON pointer.
const CREATE_BODY_POINTER =
  "/paths/~1organizations~1{organization}~1databases~1{database}~1branches~1{branch}~1roles/post/requestBody" +
  "/content/application~1json/schema/properties";
const createResponse = (doc: Loose) => createOp(doc).responses["200"].content["application/json"].schema;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  fullSpec = (await unpackUpstream(dir)).file;
  docsText = await readFile(DOCS_PAGE, "utf8");
  baseline = (await pullSpec(DOCS_PAGE, OVERLAYS)).doc;
  refs = await externalRefTargets(dir);
  server = await startServer((request, res) => {
    const files: Record<string, string> = { "/docs/create_role.md": DOCS_PAGE, "/openapi.yaml": fullSpec };
    if (request.url === "/endless.yaml") return answerForever(res);
    const file = files[request.url];
    if (!file) return res.writeHead(404).end("not here");
    readFile(file).then((bytes) => res.writeHead(200, { "content-type": "text/plain" }).end(bytes));
  });
});
afterAll(async () => {
  await server.close();
  await refs.server.close();
  await cleanup();
});

describe("pulling from a docs page", () => {
  it("reads the document embedded in the page's fenced yaml block", async () => {
    const pulled = await pullSpec(DOCS_PAGE, OVERLAYS);
    expect(pulled.lock.operations).toEqual(["create_role"]);
    expect(pulled.doc.security).toEqual([{ oauth2: [] }, { serviceToken: [] }]);
  });

  it("picks, of the page's fenced yaml blocks, the one that is an OpenAPI document", async () => {
    // Before it, a snippet with openapi: but no paths; after it, a plain example.
    const snippet = "```yaml\nopenapi: 3.0.1\ninfo: {title: A snippet, version: '1'}\n```\n\n";
    const example = "\n\n```yaml\nname: my-role\nttl: 3600\n```\n";
    const page = path.join(dir, "several-blocks.md");
    await writeFile(page, `# Create role credentials\n\n${snippet}${docsText}${example}`);
    const pulled = await pullSpec(page, OVERLAYS);
    expect(pulled.lock.operations).toEqual(["create_role"]);
  });

  it("says what the page's create_role differs in from the full document", async () => {
    const full = (await pullSpec(fullSpec, OVERLAYS)).doc;
    const changes = diffSpecs(full, baseline);
    const summary = formatSummary(changes, "docs");
    expect(summary).toContain("- `list_roles`: GET");
    expect(summary).toMatch(/### Breaking for callers[\s\S]*`create_role` request `with_replication`: boolean removed/);
    expect(summary).toMatch(
      /### Other changes[\s\S]*`create_role` request `inherited_roles\[\]`: enum value "pscale_managed" added/,
    );
  });
});

describe("external $refs in the overlays", () => {
  it("refuses a $ref that an overlay adds, before validating, and fetches nothing", async () => {
    const overlays = path.join(dir, "overlays-with-ref");
    await cp(OVERLAYS, overlays, { recursive: true });
    const target = "$.paths.*.post.requestBody.content['application/json'].schema.properties";
    const overlay = { overlay: "1.1.0", info: { title: "x", version: "1.0.0" }, actions: [] as unknown[] };
    overlay.actions.push({ target, update: { leak: { $ref: refs.url } } });
    await writeFile(path.join(overlays, "90-leak.yaml"), YAML.stringify(overlay));
    expect((await readdir(overlays)).at(-1)).toBe("90-leak.yaml");
    await expect(pullSpec(DOCS_PAGE, overlays)).rejects.toThrow(
      `has a $ref outside the document at ${CREATE_BODY_POINTER}/leak/$ref`,
    );
    expect(refs.server.requests).toEqual([]);
  });
});

describe("the change summary on crafted variants", () => {
  it("reports a request field added, as not breaking, and the regenerated types have it", async () => {
    const file = await writeVariant("field-added", (doc) => {
      createBody(doc).properties.region = { type: "string", description: "Where the role lives" };
    });
    const changes = await changesFor(file);
    expect(changes).toEqual([
      {
        operation: "create_role",
        where: "request",
        field: "region",
        kind: "field-added",
        detail: "string added",
        breaking: false,
      },
    ]);
    const specPath = path.join(dir, "field-added.planetscale.yaml");
    await writeFile(specPath, (await pullSpec(file, OVERLAYS)).yaml);
    const generated = (await render(specPath)).get("openapi.ts") ?? "";
    expect(generated).toMatch(/region\?: string;/);
  });

  it("calls a removed response field breaking, and the regenerated types lose it", async () => {
    const file = await writeVariant("field-removed", (doc) => {
      const response = createResponse(doc);
      delete response.properties.expired;
      response.required = response.required.filter((name: string) => name !== "expired");
    });
    const changes = await changesFor(file);
    expect(changes).toContainEqual(
      expect.objectContaining({ where: "response", field: "expired", kind: "field-removed", breaking: true }),
    );
    const specPath = path.join(dir, "field-removed.planetscale.yaml");
    await writeFile(specPath, (await pullSpec(file, OVERLAYS)).yaml);
    expect((await render(specPath)).get("openapi.ts")).not.toMatch(/\bexpired: boolean;/);
  });

  it("reports an enum value added (not breaking) and one removed from a request (breaking)", async () => {
    const file = await writeVariant("enum", (doc) => {
      const items = createBody(doc).properties.inherited_roles.items;
      items.enum = [...items.enum.filter((v: string) => v !== "pg_monitor"), "pg_create_role"];
    });
    const changes = (await changesFor(file)).filter((c) => c.where === "request");
    expect(changes).toEqual([
      expect.objectContaining({
        field: "inherited_roles[]",
        kind: "enum-value-removed",
        detail: 'enum value "pg_monitor" removed',
        breaking: true,
      }),
      expect.objectContaining({
        field: "inherited_roles[]",
        kind: "enum-value-added",
        detail: 'enum value "pg_create_role" added',
        breaking: false,
      }),
    ]);
  });

  it("reports an operation renamed as breaking", async () => {
    const file = await writeVariant("renamed", (doc) => {
      createOp(doc).operationId = "create_role_credentials";
    });
    expect(await changesFor(file)).toEqual([
      expect.objectContaining({
        operation: "create_role",
        kind: "operation-renamed",
        detail: `POST ${CREATE_PATH} renamed to create_role_credentials`,
        breaking: true,
      }),
    ]);
  });

  it("calls a response field made nullable breaking, and the regenerated type says null", async () => {
    const file = await writeVariant("nullable", (doc) => {
      createResponse(doc).properties.name.nullable = true;
    });
    expect(await changesFor(file)).toEqual([
      expect.objectContaining({ where: "response", field: "name", kind: "now-nullable", breaking: true }),
    ]);
    const specPath = path.join(dir, "nullable.planetscale.yaml");
    await writeFile(specPath, (await pullSpec(file, OVERLAYS)).yaml);
    expect((await render(specPath)).get("openapi.ts")).toMatch(/name: string \| null;/);
  });

  it("calls a newly required request field breaking", async () => {
    const file = await writeVariant("required", (doc) => {
      createBody(doc).required = ["name"];
    });
    expect(await changesFor(file)).toEqual([
      expect.objectContaining({ where: "request", field: "name", kind: "now-required", breaking: true }),
    ]);
  });

  it("reads the same document given as JSON", async () => {
    const file = await writeVariant("as-json", () => {}, true);
    expect(await changesFor(file)).toEqual([]);
  });
});

describe("npm run spec:pull", () => {
  let out: string;
  let current: string;
  beforeAll(async () => {
    out = path.join(dir, "openapi");
    const first = await runTs("scripts/pull-spec.ts", ["--from", `${server.url}/docs/create_role.md`, "--out", out]);
    expect(first.code).toBe(0);
    current = await readFile(path.join(out, "planetscale.yaml"), "utf8");
  });

  const untouched = async () => expect(await readFile(path.join(out, "planetscale.yaml"), "utf8")).toBe(current);

  it("pulls a docs page over HTTP and writes the spec and its lock", async () => {
    const lock = JSON.parse(await readFile(path.join(out, "planetscale.lock.json"), "utf8"));
    expect(lock).toMatchObject({ source: `${server.url}/docs/create_role.md`, operations: ["create_role"] });
    expect(current).toContain("operationId: create_role");
  });

  it("prints the summary as JSON and, with --fail-on-breaking, exits 1 and writes nothing", async () => {
    const file = await writeVariant("breaking", (doc) => {
      delete createResponse(doc).properties.password;
    });
    const run = await runTs("scripts/pull-spec.ts", ["--from", file, "--out", out, "--json", "--fail-on-breaking"]);
    expect(run.code).toBe(1);
    const summary = JSON.parse(run.stdout);
    expect(summary.breaking).toBe(1);
    expect(summary.changes[0]).toMatchObject({ field: "password", kind: "field-removed" });
    expect(run.stderr).toContain("left as it was");
    await untouched();
  });

  it("keeps spec text from forging Markdown in the summary file or control sequences in the terminal", async () => {
    const hostile = "x\n\n## Nothing breaks, merge @octocat\n<!-- \u001b]0;owned\u0007\u009b ``tick``";
    const file = await writeVariant("hostile-names", (doc) => {
      createBody(doc).properties[hostile] = { type: "string" };
      createBody(doc).properties.inherited_roles.items.enum.push("@octocat <!-- #1 **bold**");
    });
    const summaryFile = path.join(dir, "hostile-summary.md");
    const args = ["--from", file, "--out", out, "--dry-run", "--summary-file", summaryFile];
    const run = await runTs("scripts/pull-spec.ts", args);
    expect(run.code).toBe(0);
    const html = await marked.parse(await readFile(summaryFile, "utf8"));
    expect(html.match(/<h\d>[^<]*<\/h\d>/g)).toEqual(["<h3>Other changes</h3>"]);
    expect(html).not.toMatch(/<!--|<strong>/);
    // Outside code, no mention or issue reference GitHub would link.
    expect(html.replace(/<code>[\s\S]*?<\/code>/g, "")).not.toMatch(/[@#][A-Za-z0-9]/);
    const escaped = "x\\n\\n## Nothing breaks, merge @octocat\\n&lt;!-- \\u001b]0;owned\\u0007\\u009b ``tick``";
    expect(html).toContain(`<code>${escaped}</code>`);
    expect(run.stdout).toContain("\\u001b]0;owned\\u0007\\u009b");
    expect(run.stdout).not.toMatch(RAW_CONTROL);
    const asJson = await runTs("scripts/pull-spec.ts", ["--from", file, "--out", out, "--dry-run", "--json"]);
    expect(asJson.stdout).not.toMatch(RAW_CONTROL);
    expect(JSON.parse(asJson.stdout).changes).toContainEqual(expect.objectContaining({ field: hostile }));
    await untouched();
  });

  it.each([
    [
      "Swagger 2.0",
      "swagger.yaml",
      'swagger: "2.0"\ninfo: {title: x, version: "1"}\npaths: {}\n',
      /Swagger 2\.0; only OpenAPI 3\.x/,
    ],
    [
      "a document that is not OpenAPI",
      "other.json",
      '{"hello": "world"}',
      /is not an OpenAPI 3\.x document \(no openapi field\)/,
    ],
    [
      "a document our overlays no longer fit",
      "no-security.yaml",
      `openapi: 3.0.1\ninfo: {title: x, version: "1"}\npaths:\n  /r:\n    get:\n      tags: [Roles]\n      operationId: x\n      responses: {"200": {description: ok}}\n`,
      /overlay 10-service-token\.yaml no longer applies/,
    ],
    ["text that is not YAML", "broken.yaml", "openapi: [3.0\n  - :", /is not YAML or JSON/],
  ])("refuses %s with a clear message and leaves the spec alone", async (_name, fileName, text, message) => {
    const file = path.join(dir, fileName);
    await writeFile(file, text);
    const run = await runTs("scripts/pull-spec.ts", ["--from", file, "--out", out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).toContain("left as it was");
    await untouched();
  });

  it.each([
    ["a seven-level alias bomb", aliasBomb(7)],
    ["a single alias", "x-shared: &shared {type: string}\nx-again: *shared\n"],
  ])("refuses YAML aliases (%s) with a clear message, and writes nothing", async (name, aliases) => {
    // Refused while reading: the message is the alias refusal, not what a bomb's expansion
    // would later give (an out-of-memory crash or a timeout), and the spec is untouched.
    const file = path.join(dir, `${name.replaceAll(" ", "-")}.yaml`);
    await writeFile(file, `${YAML.stringify(docsDocument())}${aliases}`);
    const run = await runTs("scripts/pull-spec.ts", ["--from", file, "--out", out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/uses YAML aliases \(\*name\), which an OpenAPI document does not need/);
    expect(run.stderr).toContain("left as it was");
    await untouched();
  });

  it.each([
    ["a local file", () => refs.file],
    ["a URL", () => refs.url],
  ])("refuses a $ref to %s, naming where it is, and reads or fetches nothing", async (name, target) => {
    const file = await writeVariant(`ref-to-${name.replaceAll(" ", "-")}`, (doc) => {
      createBody(doc).properties["leak\u001b[2J"] = { $ref: target() };
    });
    const run = await runTs("scripts/pull-spec.ts", ["--from", file, "--out", out]);
    expect(run.code).toBe(1);
    // The pointer names the place, with the control character in its key escaped for the terminal.
    expect(run.stderr).toContain(`has a $ref outside the document at ${CREATE_BODY_POINTER}/leak\\u001b[2J/$ref`);
    expect(run.stderr).not.toContain("\u001b");
    expect(refs.server.requests).toEqual([]);
    expect(`${run.stdout}${run.stderr}`).not.toContain(refs.marker);
    await untouched();
  });

  it("refuses a body that never ends once past the size cap, while downloading", async () => {
    const run = await runTs("scripts/pull-spec.ts", ["--from", `${server.url}/endless.yaml`, "--out", out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/endless\.yaml is larger than 16 MiB, the most spec:pull reads/);
    await untouched();
  });

  it("refuses a file one byte over the size cap", async () => {
    const file = path.join(dir, "too-large.yaml");
    await writeFile(file, Buffer.alloc(MAX_DOCUMENT_BYTES + 1, "#"));
    const run = await runTs("scripts/pull-spec.ts", ["--from", file, "--out", out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/too-large\.yaml is larger than 16 MiB, the most spec:pull reads/);
    await untouched();
  });

  it("refuses an invalid document, naming the problem", async () => {
    const file = await writeVariant("invalid", (doc) => {
      createOp(doc).parameters[0].in = "nowhere";
    });
    const run = await runTs("scripts/pull-spec.ts", ["--from", file, "--out", out]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is not a valid OpenAPI document:\n {2}- `in` can be one of .*parameters\/0\/in/);
    await untouched();
  });

  it("refuses an unreachable source and a 404", async () => {
    const port = await closedPort();
    const unreachable = await runTs("scripts/pull-spec.ts", [
      "--from",
      `http://127.0.0.1:${port}/openapi.yaml`,
      "--out",
      out,
    ]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/could not reach .*ECONNREFUSED/);
    const missing = await runTs("scripts/pull-spec.ts", ["--from", `${server.url}/nope.yaml`, "--out", out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/answered 404/);
    await untouched();
  });

  it("pulls the full upstream document over HTTP, and finds no changes against the same document pulled from a file", async () => {
    const fromFile = path.join(dir, "from-file");
    expect((await runTs("scripts/pull-spec.ts", ["--from", fullSpec, "--out", fromFile])).code).toBe(0);
    const run = await runTs("scripts/pull-spec.ts", [
      "--from",
      `${server.url}/openapi.yaml`,
      "--out",
      fromFile,
      "--dry-run",
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("No changes to the Roles operations");
  });
});
