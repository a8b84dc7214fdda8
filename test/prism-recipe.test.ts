// The README's recipe for a mock: `prism mock node_modules/planetscale-roles/openapi/planetscale.yaml`.
// The package is packed as it would be published, Prism is started on the spec inside the tarball,
// and every client method runs against it; the answers must look like PlanetScale's (the overlay
// examples), not Prism's placeholders, and a list must end with next_page null.
import { execFile } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PrismServer, startPrism } from "../scripts/lib/prism.ts";
import { connectionString, createClient, type PlanetScaleClient } from "../src/index.ts";
import { BRANCH } from "./support/fixtures.ts";
import { ROOT, tempDir } from "./support/run.ts";

function run(file: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, timeout: 120_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${file} ${args.join(" ")}: ${stderr}`)) : resolve(stdout),
    );
  });
}

/** Every string in an answer, with where it sits. */
function strings(value: unknown, at = "$"): [string, string][] {
  if (typeof value === "string") return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((item, index) => strings(item, `${at}[${index}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => strings(item, `${at}.${key}`));
  }
  return [];
}

let prism: PrismServer;
let cleanup: () => Promise<void>;
let ps: PlanetScaleClient;
const answers: unknown[] = [];

beforeAll(async () => {
  let dir: string;
  ({ dir, cleanup } = await tempDir("psr-prism-recipe-"));
  const packed = JSON.parse(await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], ROOT));
  await run("tar", ["-xzf", path.join(dir, packed[0].filename), "-C", dir], dir);
  prism = await startPrism(path.join(dir, "package/openapi/planetscale.yaml"));
  const keep = async (input: RequestInfo | URL, init?: RequestInit) => {
    const response = await fetch(input, init);
    const text = await response.clone().text();
    if (text) answers.push(JSON.parse(text));
    return response;
  };
  ps = createClient({ serviceToken: "id:token", baseUrl: prism.url, fetch: keep as typeof fetch, maxRetries: 0 });
}, 180_000);
afterAll(async () => {
  await prism?.stop();
  await cleanup?.();
});

describe("Prism started from the packed package's openapi/planetscale.yaml", () => {
  const role = { ...BRANCH, id: "8pxfm3kzqv1t" };

  it("answers every client method", async () => {
    const created = await ps.createRole({ ...BRANCH, name: "ci-reader", ttl: 3600 });
    expect(connectionString(created)).toMatch(/^postgresql:\/\/[^:]+:[^@]+@[^/]+\/\w+\?sslmode=verify-full$/);
    const page = await ps.listRoles({ ...BRANCH, per_page: 25 });
    expect(page.next_page).toBeNull();
    const listed = [];
    for await (const each of ps.listAllRoles(BRANCH)) listed.push(each.name);
    expect(listed).toEqual(page.data.map((each) => each.name));
    expect(listed.length).toBeGreaterThan(0);
    expect((await ps.getRole(role)).password).toBe("");
    expect((await ps.updateRole({ ...role, name: "ci-reader" })).name).toBe("ci-reader");
    expect((await ps.renewRole(role)).expires_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect((await ps.resetRole(role)).password).not.toBe("");
    await expect(ps.reassignRoleObjects({ ...role, successor: "app" })).resolves.toBeUndefined();
    await expect(ps.deleteRole({ ...role, successor: "app" })).resolves.toBeUndefined();
    expect((await ps.getDefaultRole(BRANCH)).default).toBe(true);
    expect((await ps.resetDefaultRole(BRANCH)).password).not.toBe("");
    await expect(ps.createTemporaryRole(BRANCH, (temporary) => temporary.username)).resolves.toContain(".");
  });

  it("answers with PlanetScale-like examples, never Prism's placeholder strings", () => {
    expect(answers.length).toBeGreaterThanOrEqual(10);
    const placeholders = answers.flatMap((answer) => strings(answer)).filter(([, value]) => value === "string");
    expect(placeholders).toEqual([]);
    const usernames = answers.flatMap((answer) => strings(answer)).filter(([at]) => /\.username$/.test(at));
    for (const [at, username] of usernames) expect(username, at).toMatch(/^[\w-]+\.[a-z0-9]+$/);
  });
});
