// Issue 17, item 14: the command honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY (and their lower-case
// forms), as curl, gh and pscale do, through a real proxy on loopback. The library itself has no
// proxy code: test/proxy-recipe.test.ts proves the README's recipe for services.
import { readFileSync } from "node:fs";
import { cp, mkdir, symlink } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROXY_UNSET, runBuiltCli, runCli, spawnCli, TOKEN_ENV } from "./support/cli.ts";
import { roleFixture } from "./support/fixtures.ts";
import { proxyAndApi } from "./support/proxy.ts";
import { ROOT, tempDir } from "./support/run.ts";

const TLS = path.join(ROOT, "test/fixtures/tls");
const get = ["get", "app-db", "main", "role-1", "--org", "acme"];

const servers = proxyAndApi();

const targetHost = () => new URL(servers.api.url).host;

// One test at a time: they share the proxy's record.
describe.sequential("the command behind a proxy", () => {
  it("sends through HTTPS_PROXY to an https API, tunnelled with CONNECT", async () => {
    const tls = createHttpsServer(
      { key: readFileSync(path.join(TLS, "key.pem")), cert: readFileSync(path.join(TLS, "cert.pem")) },
      (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(roleFixture())),
    );
    await new Promise<void>((resolve) => tls.listen(0, "127.0.0.1", resolve));
    const port = (tls.address() as AddressInfo).port;
    servers.proxy.seen.length = 0;
    // A child process: the test certificate must be trusted from the start (NODE_EXTRA_CA_CERTS).
    const run = spawnCli([...get, "--base-url", `https://127.0.0.1:${port}`, "-f", "json"], {
      ...PROXY_UNSET,
      HTTPS_PROXY: servers.proxy.url,
      NODE_EXTRA_CA_CERTS: path.join(TLS, "cert.pem"),
    });
    try {
      expect(await run.exited, run.stderr()).toBe(0);
      expect(servers.proxy.seen).toEqual([`CONNECT 127.0.0.1:${port}`]);
    } finally {
      run.stop();
      tls.close();
    }
  });

  it.each([["HTTP_PROXY"], ["http_proxy"]])("sends an http request through %s", async (variable) => {
    servers.proxy.seen.length = 0;
    servers.api.reset();
    const run = await runCli([...get, "--base-url", servers.api.url], {
      env: { ...PROXY_UNSET, [variable]: servers.proxy.url },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(servers.proxy.seen).toHaveLength(1);
    expect(servers.proxy.seen[0]).toContain(targetHost());
    expect(servers.api.requests.map((request) => request.url)).toEqual([
      "/organizations/acme/databases/app-db/branches/main/roles/role-1",
    ]);
  });

  it.each([
    ["its host", () => "127.0.0.1"],
    ["its host and port", () => targetHost()],
    ["a list that holds it", () => "example.com, 127.0.0.1"],
    ["*", () => "*"],
  ])("goes straight to the API when NO_PROXY is %s", async (_what, noProxy) => {
    servers.proxy.seen.length = 0;
    servers.api.reset();
    const env = { ...PROXY_UNSET, HTTP_PROXY: servers.proxy.url, NO_PROXY: noProxy() };
    const run = await runCli([...get, "--base-url", servers.api.url], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(servers.proxy.seen).toEqual([]);
    expect(servers.api.requests).toHaveLength(1);
  });

  it("uses the proxy when NO_PROXY names another host", async () => {
    servers.proxy.seen.length = 0;
    const env = { ...PROXY_UNSET, HTTP_PROXY: servers.proxy.url, NO_PROXY: "example.com" };
    const run = await runCli([...get, "--base-url", servers.api.url], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(servers.proxy.seen).toHaveLength(1);
  });

  it("leaves an http request alone when only HTTPS_PROXY is set: each variable is for its own scheme", async () => {
    servers.proxy.seen.length = 0;
    const run = await runCli([...get, "--base-url", servers.api.url], {
      env: { ...PROXY_UNSET, HTTPS_PROXY: servers.proxy.url },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(servers.proxy.seen).toEqual([]);
  });

  it("leaves an https request alone when only HTTP_PROXY is set (curl and Go do the same)", async () => {
    servers.proxy.seen.length = 0;
    const tls = `https://127.0.0.1:${new URL(servers.api.url).port}`;
    await runCli([...get, "--base-url", tls], { env: { ...PROXY_UNSET, HTTP_PROXY: servers.proxy.url } });
    expect(servers.proxy.seen).toEqual([]);
  });

  it("sends the proxy's user and password to the proxy, and --debug names the proxy without them", async () => {
    servers.proxy.seen.length = 0;
    servers.proxy.authorizations.length = 0;
    const withUser = servers.proxy.url.replace("http://", "http://alice:pr0xy-s3cret@");
    const env = { ...PROXY_UNSET, HTTP_PROXY: withUser };
    const run = await runCli([...get, "--base-url", servers.api.url, "--debug"], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(servers.proxy.authorizations).toEqual([`Basic ${Buffer.from("alice:pr0xy-s3cret").toString("base64")}`]);
    expect(run.stderr).toContain(
      `planetscale-roles: requests go through the proxy ${servers.proxy.url} (HTTP_PROXY)\n`,
    );
    expect(run.stderr).not.toContain("pr0xy-s3cret");
  });

  it.each([
    ["HTTP_PROXY", "not a url"],
    ["http_proxy", "socks5://127.0.0.1:1080"],
  ])("refuses a %s of %j before sending, naming the variable", async (variable, value) => {
    servers.api.reset();
    const run = await runCli([...get, "--base-url", servers.api.url], { env: { ...PROXY_UNSET, [variable]: value } });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(new RegExp(`^planetscale-roles: ${variable} must be an http or https proxy URL`));
    expect(run.stderr).not.toContain(value);
    expect(servers.api.requests).toEqual([]);
  });
});

// `npm test` builds dist/ before this runs.
describe("undici, in the built package", () => {
  const IMPORTS_UNDICI = /\bfrom\s*["']undici["']|\brequire\(\s*["']undici["']\s*\)|\bimport\(\s*["']undici["']\s*\)/;

  it.each(["index.js", "index.cjs", "testing.js", "testing.cjs", "redis.js", "redis.cjs"])(
    "is imported nowhere by the library entry %s",
    (file) => {
      expect(readFileSync(path.join(ROOT, "dist", file), "utf8")).not.toMatch(IMPORTS_UNDICI);
    },
  );

  it("is needed by the command only when a proxy applies: without it installed, a proxy is refused and the rest works", async () => {
    const project = await tempDir("psr-no-undici-");
    try {
      // The package and openapi-fetch installed, and no undici.
      const installed = path.join(project.dir, "node_modules/planetscale-roles");
      await mkdir(installed, { recursive: true });
      await cp(path.join(ROOT, "package.json"), path.join(installed, "package.json"));
      await cp(path.join(ROOT, "dist"), path.join(installed, "dist"), { recursive: true });
      await symlink(
        path.join(ROOT, "node_modules/openapi-fetch"),
        path.join(project.dir, "node_modules/openapi-fetch"),
      );
      const bin = path.join(installed, "dist/bin.mjs");
      const args = [...get, "--base-url", servers.api.url];
      const env = { ...PROXY_UNSET, ...TOKEN_ENV };
      const direct = await runBuiltCli(bin, args, { env, cwd: project.dir });
      expect(direct.code, direct.stderr).toBe(0);
      const proxied = await runBuiltCli(bin, args, {
        env: { ...env, HTTP_PROXY: servers.proxy.url },
        cwd: project.dir,
      });
      expect(proxied.code).toBe(2);
      expect(proxied.stderr).toMatch(
        /^planetscale-roles: HTTP_PROXY is set, but undici, which sends through a proxy, did not load: .*undici/,
      );
    } finally {
      await project.cleanup();
    }
  });

  it("is loaded by the command only on demand, when a proxy applies", () => {
    const bin = readFileSync(path.join(ROOT, "dist/bin.mjs"), "utf8");
    expect(bin).toMatch(/\bimport\(\s*["']undici["']\s*\)/);
    expect(bin).not.toMatch(/\bfrom\s*["']undici["']/);
    // Left to the installed package, not bundled into the command.
    expect(bin).not.toContain("class EnvHttpProxyAgent");
  });
});
