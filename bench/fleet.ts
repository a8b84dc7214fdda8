// npm run bench:fleet — a fleet of processes sharing one token's rate limit. A token bucket (a burst,
// then a steady refill; 429 with Retry-After in whole seconds) runs in its own process; PROCESSES
// child processes each send CALLS concurrent createRole calls with default client options. Run twice
// in one run: each process with its own in-memory gate, then all sharing the Redis limiter (a
// redis-server this script starts). Prints, for each, the wall time against the ideal the bucket
// allows ((PROCESSES x CALLS - BURST) / REFILL), the share of 429 answers, failures and duplicate creates.
// BURST, REFILL (per second), PROCESSES and CALLS (per process) are read from the environment.
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createClient } from "../src/index.ts";
import { createRedisRateLimiter } from "../src/redis/index.ts";
import { BRANCH } from "../test/support/fixtures.ts";
import { startRateLimitedServer } from "../test/support/rate-limited-server.ts";
import { startRedisServer } from "../test/support/redis-server.ts";

const BURST = Number(process.env.BURST ?? 100);
const REFILL = Number(process.env.REFILL ?? 100);
const PROCESSES = Number(process.env.PROCESSES ?? 4);
const CALLS = Number(process.env.CALLS ?? 125);

type Message =
  | { url: string }
  | { ready: true }
  | { go: true }
  | { failures: number }
  | { stats: true }
  | { created: string[]; limited: number };

const send = (message: Message) => process.send?.(message);
const next = async (child: NodeJS.Process | ChildProcess): Promise<Message> =>
  (await once(child, "message"))[0] as Message;

/** The token bucket's process: answers with its URL, then with what it saw when asked. */
async function bucket(): Promise<void> {
  const server = await startRateLimitedServer(BURST, REFILL);
  send({ url: server.url });
  await next(process);
  send({ created: server.created, limited: server.limited });
  await server.close();
  process.disconnect();
}

/** One process of the fleet: CALLS concurrent creates, started on the parent's word. */
async function member(index: string, url: string, redisUrl: string | undefined): Promise<void> {
  const limiter = redisUrl ? createRedisRateLimiter({ url: redisUrl }) : undefined;
  const ps = createClient({ serviceToken: "a:b", baseUrl: url, ...(limiter ? { rateLimiter: limiter } : {}) });
  send({ ready: true });
  await next(process);
  const results = await Promise.allSettled(
    Array.from({ length: CALLS }, (_, i) => ps.createRole({ ...BRANCH, name: `fleet-${index}-${i}` })),
  );
  send({ failures: results.filter((result) => result.status === "rejected").length });
  limiter?.close();
  process.disconnect();
}

const spawnSelf = (...args: string[]) =>
  fork(fileURLToPath(import.meta.url), args, { execArgv: ["--import", "tsx"], stdio: "inherit" });

async function runFleet(redisUrl: string | undefined) {
  const bucketProcess = spawnSelf("bucket");
  const { url } = (await next(bucketProcess)) as { url: string };
  const members = Array.from({ length: PROCESSES }, (_, i) =>
    spawnSelf("member", String(i), url, ...(redisUrl ? [redisUrl] : [])),
  );
  await Promise.all(members.map(next));
  const started = performance.now();
  for (const child of members) child.send({ go: true });
  const done = (await Promise.all(members.map(next))) as { failures: number }[];
  const wallMs = performance.now() - started;
  bucketProcess.send({ stats: true });
  const { created, limited } = (await next(bucketProcess)) as { created: string[]; limited: number };
  await Promise.all([bucketProcess, ...members].map((child) => child.exitCode ?? once(child, "exit")));
  return {
    wallMs,
    limited,
    requests: created.length + limited,
    failures: done.reduce((sum, { failures }) => sum + failures, 0),
    duplicates: created.length - new Set(created).size,
  };
}

function report(label: string, run: Awaited<ReturnType<typeof runFleet>>): void {
  const idealMs = (Math.max(0, PROCESSES * CALLS - BURST) / REFILL) * 1000;
  console.log(
    `${label}: wall ${run.wallMs.toFixed(0)} ms, ideal ${idealMs.toFixed(0)} ms, ratio ${(run.wallMs / idealMs).toFixed(2)}x; ` +
      `429 answers ${run.limited} of ${run.requests} requests (${((100 * run.limited) / run.requests).toFixed(1)}%); ` +
      `failures ${run.failures}; duplicate creates ${run.duplicates}`,
  );
}

const [role, ...args] = process.argv.slice(2);
if (role === "bucket") await bucket();
else if (role === "member") await member(args[0] ?? "0", args[1] ?? "", args[2]);
else {
  console.log(
    `${PROCESSES} processes x ${CALLS} concurrent creates, default options; bucket ${BURST} + ${REFILL}/s in its own process`,
  );
  report("own gate per process  ", await runFleet(undefined));
  const redis = await startRedisServer();
  try {
    report("shared Redis limiter  ", await runFleet(redis.url));
  } finally {
    await redis.stop();
  }
  console.log("targets (shared): ratio at most 1.30x, 429 answers at most 10%, no failure, no duplicate create");
}
