// Issue 17, item 14: the library has no proxy code; the README's "Proxies" recipe routes it
// through one with its own fetch. The recipe is test/fixtures/proxy-recipe.ts, shown word for word,
// and run here through a real proxy on loopback.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PROXY_UNSET } from "./support/cli.ts";
import { BRANCH } from "./support/fixtures.ts";
import { proxyAndApi } from "./support/proxy.ts";
import { ROOT } from "./support/run.ts";

const servers = proxyAndApi();
afterEach(() => {
  vi.unstubAllEnvs();
});

/** The recipe as a service would load it, with this environment. */
async function recipeWith(env: Record<string, string | undefined>) {
  for (const name of Object.keys(PROXY_UNSET)) vi.stubEnv(name, undefined);
  vi.stubEnv("PLANETSCALE_API_URL", servers.api.url);
  vi.stubEnv("PLANETSCALE_SERVICE_TOKEN_ID", "recipe-id");
  vi.stubEnv("PLANETSCALE_SERVICE_TOKEN", "recipe-token");
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.resetModules();
  return import("./fixtures/proxy-recipe.ts");
}

describe.sequential("the README's proxy recipe", () => {
  it("is shown in the README exactly as it runs", async () => {
    const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("### Proxies"));
    const shown = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(shown).toBe(await readFile(path.join(ROOT, "test/fixtures/proxy-recipe.ts"), "utf8"));
  });

  it("sends the client's calls through HTTP_PROXY", async () => {
    servers.proxy.seen.length = 0;
    servers.api.reset();
    const { ps, dispatcher } = await recipeWith({ HTTP_PROXY: servers.proxy.url });
    try {
      expect((await ps.getRole({ ...BRANCH, id: "role-1" })).id).toBe("role-1");
      expect(servers.proxy.seen).toHaveLength(1);
      expect(servers.proxy.seen[0]).toContain(new URL(servers.api.url).host);
      expect(servers.api.requests[0]?.headers.authorization).toBe("recipe-id:recipe-token");
    } finally {
      await dispatcher.close();
    }
  });

  it("goes straight to a host that NO_PROXY names", async () => {
    servers.proxy.seen.length = 0;
    servers.api.reset();
    const { ps, dispatcher } = await recipeWith({ HTTP_PROXY: servers.proxy.url, NO_PROXY: "127.0.0.1" });
    try {
      await ps.getRole({ ...BRANCH, id: "role-1" });
      expect(servers.proxy.seen).toEqual([]);
      expect(servers.api.requests).toHaveLength(1);
    } finally {
      await dispatcher.close();
    }
  });
});
