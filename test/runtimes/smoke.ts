// The one smoke suite `npm run test:runtimes` runs in every runtime, against the packed package
// (the harness bundles this file with `../../src/index.ts` rewritten to "planetscale-roles"). It
// uses nothing but the package and web-standard globals, so the same code runs in Node, Bun, Deno
// and workerd; each entry hands in what differs (where the servers are, the runtime's inspect).
import { createClient, InvalidRequestError, type PlanetScaleClient, type Role, TimeoutError } from "../../src/index.ts";
import { createFakePlanetScale } from "../../src/testing/index.ts";

export type Inspect = (value: unknown, options?: { showHidden?: boolean; depth?: number }) => string;

export interface SmokeTarget {
  /** A local roles server: create and list. */
  rolesUrl: string;
  /** A local server that accepts requests and never answers. */
  hangingUrl: string;
  /** The runtime's own inspect (util.inspect, Deno.inspect, Bun.inspect), where it has one. */
  inspect?: Inspect | undefined;
}

export interface SmokeResult {
  name: string;
  outcome: "passed" | "failed" | "skipped";
  detail?: string;
}

const BRANCH = { organization: "acme", database: "app-db", branch: "main" };
const SERVICE_TOKEN = { id: "smoke-id", token: "smoke-token-never-shown" };
const CANARY = "smoke canary: a rejection left unhandled on purpose";

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type RejectionEvent = { reason: unknown; preventDefault(): void };
interface RejectionHooks {
  addEventListener?: (type: "unhandledrejection", listener: (event: RejectionEvent) => void) => void;
  process?: { on?: (event: "unhandledRejection", listener: (reason: unknown) => void) => void };
}

/**
 * Collects unhandled rejections however this runtime reports them: the web event (Deno, Bun,
 * workerd) and Node's process event (Node, Bun, Deno's node compatibility). A Set, since a runtime
 * with both reports one rejection twice.
 */
function watchUnhandledRejections(): Set<unknown> {
  const reasons = new Set<unknown>();
  const scope = globalThis as RejectionHooks;
  scope.addEventListener?.("unhandledrejection", (event) => {
    event.preventDefault();
    reasons.add(event.reason);
  });
  scope.process?.on?.("unhandledRejection", (reason) => reasons.add(reason));
  return reasons;
}

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the call to fail, and it succeeded");
}

export async function runSmoke(target: SmokeTarget): Promise<SmokeResult[]> {
  const unhandled = watchUnhandledRejections();
  // Proves the watch works here, so "no unhandled rejection" below cannot pass by hearing nothing.
  const canary = new Error(CANARY);
  void Promise.reject(canary);
  const results: SmokeResult[] = [];
  const check = async (name: string, body: () => Promise<void> | void) => {
    try {
      await body();
      results.push({ name, outcome: "passed" });
    } catch (error) {
      results.push({ name, outcome: "failed", detail: error instanceof Error ? error.message : String(error) });
    }
  };
  let client: PlanetScaleClient | undefined;
  let role: Role | undefined;

  await check("createClient from explicit options reads no environment", () => {
    client = createClient({ serviceToken: SERVICE_TOKEN, baseUrl: target.rolesUrl, maxRetries: 0 });
  });

  await check("createRole returns the new role with its password", async () => {
    assert(client, "needs the client");
    role = await client.createRole({
      ...BRANCH,
      name: "smoke-reader",
      ttl: 600,
      inherited_roles: ["pg_read_all_data"],
    });
    assert(role.name === "smoke-reader", `name: ${role.name}`);
    assert(typeof role.password === "string" && role.password.length > 0, "no password in the answer");
  });

  await check("listRoles lists the created role", async () => {
    assert(client && role, "needs the client and the role createRole made");
    const created = role;
    const page = await client.listRoles({ ...BRANCH });
    assert(
      page.data.some((listed) => listed.id === created.id),
      `role ${created.id} not among ${page.data.length} listed`,
    );
  });

  await check("bad input is an InvalidRequestError naming the field, and nothing is sent", async () => {
    let sent = 0;
    const counted = createClient({
      serviceToken: SERVICE_TOKEN,
      baseUrl: target.rolesUrl,
      fetch: (input, init) => {
        sent++;
        return fetch(input, init);
      },
    });
    const error = await rejectionOf(counted.createRole({ ...BRANCH, ttl: -1 }));
    assert(error instanceof InvalidRequestError, `got ${String(error)}`);
    assert(error.field === "ttl", `field: ${error.field}`);
    assert(sent === 0, `${sent} request(s) sent`);
  });

  await check("a server that never answers gives a TimeoutError", async () => {
    const stalled = createClient({
      serviceToken: SERVICE_TOKEN,
      baseUrl: target.hangingUrl,
      timeoutMs: 250,
      maxRetries: 0,
    });
    const started = Date.now();
    const error = await rejectionOf(stalled.listRoles({ ...BRANCH }));
    assert(error instanceof TimeoutError, `got ${String(error)}`);
    assert(Date.now() - started < 10_000, `took ${Date.now() - started} ms for a 250 ms deadline`);
  });

  await check("the in-memory fake (planetscale-roles/testing) creates, lists and refuses a stranger", async () => {
    const fake = createFakePlanetScale();
    const faked = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: fake.serviceToken });
    const made = await faked.createRole({ ...BRANCH, name: "faked" });
    assert(made.username.startsWith("faked."), `username: ${made.username}`);
    const page = await faked.listRoles({ ...BRANCH });
    assert(page.data.length === 1 && page.next_page === null, `page: ${page.data.length}, next ${page.next_page}`);
    assert(fake.roles()[0]?.password === made.password, "roles() does not hold the password");
    const stranger = createClient({ fetch: fake.fetch, baseUrl: fake.baseUrl, serviceToken: "other:token" });
    const error = await rejectionOf(stranger.listRoles({ ...BRANCH }));
    assert((error as { status?: number }).status === 401, `got ${String(error)}`);
  });

  const inspectName = "inspect shows neither the password nor the token";
  const { inspect } = target;
  if (inspect) {
    await check(inspectName, () => {
      assert(role, "needs the role createRole made");
      const shown = [
        inspect(role),
        inspect(role, { showHidden: true }),
        inspect({ nested: { role } }, { depth: 6 }),
        inspect(client ?? {}, { showHidden: true }),
      ].join("\n");
      assert(shown.includes(role.username), "inspect did not render the role at all");
      assert(!shown.includes(role.password), "the password appears in inspect output");
      assert(!shown.includes(SERVICE_TOKEN.token), "the service token appears in inspect output");
    });
  } else {
    results.push({ name: inspectName, outcome: "skipped", detail: "this runtime has no inspect" });
  }

  await check("no unhandled rejection", async () => {
    // Unhandled rejections are reported after the microtask queue drains: give them a turn.
    await sleep(50);
    assert(unhandled.has(canary), "the deliberate rejection went unreported: the watch does not work here");
    unhandled.delete(canary);
    assert(unhandled.size === 0, `unhandled: ${[...unhandled].map(String).join("; ")}`);
  });
  return results;
}
