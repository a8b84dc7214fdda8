// npm run bench:fleet — a fleet of processes sharing one token's rate limit, against each shape of
// issue 18 scaled in time: a token bucket 100 + 100/s, a fixed window of 125 per 2 s (Retry-After
// to the window's end, in whole seconds), a token bucket 20 + 100/s (whole-second Retry-After). The
// limiter runs in its own process; PROCESSES child processes each send CALLS concurrent createRole
// calls with default client options, each with its own in-memory gate and then all sharing the
// Redis limiter (a redis-server this script starts, a fresh key a run). The wall time runs from
// spawning the processes to the last answer: their start-up is included. The processes run a
// bundle of this file (made once, before any clock starts), as a deployed service runs built code,
// not TypeScript compiled at start. Prints, for each run, the ratio to the ideal the shape allows,
// the 429s, failures and duplicate creates and the start-up (spawn to the last process ready);
// then min–max over RUNS (default 3) runs, and for the shared limiter min–max by the number of
// holds the fleet waited out (a pause of half a second in the accepted answers after a 429): a
// small bucket's whole-second holds cost most of the time lost, one for each lesson. SHAPES picks
// some by name, comma-separated; MODES=redis (or own) runs only the fleet with (or without) the
// shared limiter; PROCESSES and CALLS change the fleet; TRACE=1 prints where each run's time went,
// as the limiter saw it; TRACE=2 also what the shared pace learned at each hold, read from Redis as
// the run goes (the count it saw, against the limiter's, is where a fleet's estimates go wrong).
import { type ChildProcess, fork } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { sleep } from "../src/clock.ts";
import type { Learned, PaceSnapshot } from "../src/gate.ts";
import { createClient } from "../src/index.ts";
import { createRedisRateLimiter } from "../src/redis/index.ts";
import { BRANCH } from "../test/support/fixtures.ts";
import * as shapes from "../test/support/limiter-shapes.ts";
import { startShapedServer } from "../test/support/rate-limited-server.ts";
import { startRedisServer } from "../test/support/redis-server.ts";

const PROCESSES = Number(process.env.PROCESSES ?? 4);
const CALLS = Number(process.env.CALLS ?? 125);
const RUNS = Number(process.env.RUNS ?? 3);
const TOTAL = PROCESSES * CALLS;

const cases: shapes.ShapeCase[] = [
  {
    name: "bucket 100 + 100/s",
    shape: () => shapes.tokenBucket(100, 100),
    idealMs: shapes.bucketIdeal(TOTAL, 100, 100),
    target: 1.3,
  },
  {
    name: "window 125 per 2 s",
    shape: () => shapes.fixedWindow(125, 2_000),
    idealMs: shapes.windowIdeal(TOTAL, 125, 2_000),
    target: 1.3,
  },
  {
    name: "bucket 20 + 100/s",
    shape: () => shapes.tokenBucket(20, 100),
    idealMs: shapes.bucketIdeal(TOTAL, 20, 100),
    target: 1.6,
  },
];

type Message = { url: string } | { ready: true } | { failures: number } | { stats: true } | Seen;
interface Seen {
  created: string[];
  limited: number;
  /** Holds the fleet waited out, as the limiter saw them. */
  holds: number;
  /** Where the time went, from the limiter's side. */
  phases: string;
}

const send = (message: Message) => process.send?.(message);
const next = async (child: NodeJS.Process | ChildProcess): Promise<Message> =>
  (await once(child, "message"))[0] as Message;

/** The limiter's process: answers with its URL, then with what it saw when asked. */
async function limiterProcess(name: string): Promise<void> {
  const test = cases.find((c) => c.name === name) as shapes.ShapeCase;
  const traced = shapes.tracedShape(test.shape());
  const server = await startShapedServer(traced.shape);
  send({ url: server.url });
  await next(process);
  send({ created: server.created, limited: server.limited, holds: traced.holds(), phases: traced.phases() });
  await server.close();
  process.disconnect();
}

/** One process of the fleet: says it is ready, then sends CALLS concurrent creates at once. */
async function member(index: string, url: string, redisUrl: string, key: string): Promise<void> {
  const limiter = redisUrl ? createRedisRateLimiter({ url: redisUrl, key }) : undefined;
  const ps = createClient({ serviceToken: "a:b", baseUrl: url, ...(limiter ? { rateLimiter: limiter } : {}) });
  send({ ready: true });
  const results = await Promise.allSettled(
    Array.from({ length: CALLS }, (_, i) => ps.createRole({ ...BRANCH, name: `fleet-${index}-${i}` })),
  );
  send({ failures: results.filter((result) => result.status === "rejected").length });
  await limiter?.close();
  process.disconnect();
}

interface Run {
  ratio: number;
  startupMs: number;
  limited: number;
  holds: number;
  requests: number;
  failures: number;
  duplicates: number;
  phases: string;
}

/**
 * What the shared pace learned, read from Redis every few ms while the run goes: each lesson as it
 * stood last (the first hold's changes as its answers straggle in), and the answers that landed during the
 * first hold. Reading adds one client to Redis, so TRACE=2 runs are not the figures.
 */
function watchLessons(redisUrl: string, key: string): () => Promise<string> {
  const redis = new Redis(redisUrl);
  const lessons: string[] = [];
  let lastSeen: unknown;
  let stopped = false;
  const describe = (pace: PaceSnapshot, known: Learned) => {
    const { accepted, sendingMs, heldMs } = known.seen;
    const rate = `${(pace.rate * 1000).toFixed(1)}/s ${pace.measured ? "measured" : "at least"}`;
    const renewed = heldMs === 0 ? `, ${pace.renewed} accepted during the hold` : "";
    return `${accepted} in ${sendingMs.toFixed(0)} ms after a ${heldMs.toFixed(0)} ms hold${renewed}: opens on ${pace.burst}, ${rate}`;
  };
  const poll = async () => {
    while (!stopped) {
      const text = await redis.hget(key, "pace");
      const pace = text ? (JSON.parse(text) as PaceSnapshot) : undefined;
      if (pace?.known) {
        // A lesson is told by the interval it was learned from; what changes under it (the first
        // hold's opening as its answers straggle in) replaces it.
        const seen = JSON.stringify(pace.known.seen);
        const lesson = describe(pace, pace.known);
        if (seen === lastSeen) lessons[lessons.length - 1] = lesson;
        else lessons.push(lesson);
        lastSeen = seen;
      }
      await sleep(2);
    }
  };
  const polling = poll();
  return async () => {
    stopped = true;
    await polling;
    redis.disconnect();
    return `pace learned: ${lessons.join("; then ")}`;
  };
}

async function runFleet(bundle: string, test: shapes.ShapeCase, redisUrl: string, key: string): Promise<Run> {
  const spawn = (...args: string[]) => fork(bundle, args, { stdio: "inherit", execArgv: [] });
  const limiter = spawn("limiter", test.name);
  const { url } = (await next(limiter)) as { url: string };
  const lessons = process.env.TRACE === "2" && redisUrl ? watchLessons(redisUrl, key) : undefined;
  const started = performance.now();
  const members = Array.from({ length: PROCESSES }, (_, i) => spawn("member", String(i), url, redisUrl, key));
  // Each process says it is ready, then that it is done.
  const done = members.map(async (child) => {
    await next(child);
    const readyAt = performance.now();
    return { readyAt, ...((await next(child)) as { failures: number }) };
  });
  const finished = await Promise.all(done);
  const wallMs = performance.now() - started;
  const learned = lessons ? `\n    ${await lessons()}` : "";
  limiter.send({ stats: true });
  const { created, limited, holds, phases } = (await next(limiter)) as Seen;
  await Promise.all([limiter, ...members].map((child) => child.exitCode ?? once(child, "exit")));
  return {
    ratio: wallMs / test.idealMs,
    startupMs: Math.max(...finished.map(({ readyAt }) => readyAt)) - started,
    limited,
    holds,
    requests: created.length + limited,
    failures: finished.reduce((sum, { failures }) => sum + failures, 0),
    duplicates: created.length - new Set(created).size,
    phases: phases + learned,
  };
}

const range = (values: number[], digits: number, unit = "") => {
  const [min, max] = [Math.min(...values), Math.max(...values)].map((value) => value.toFixed(digits));
  return min === max ? `${min}${unit}` : `${min}–${max}${unit}`;
};

function summary(test: shapes.ShapeCase, label: string, runs: Run[], target?: number): string {
  const share = runs.map((r) => (100 * r.limited) / r.requests);
  const met = runs.every((r) => r.ratio <= (target ?? Number.POSITIVE_INFINITY) && r.failures === 0);
  const verdict = target === undefined ? "" : met && share.every((s) => s <= 10) ? ": met" : ": NOT met";
  return (
    `${test.name}, ${label} (ideal ${(test.idealMs / 1000).toFixed(1)} s${target ? `, target ${target}x` : ""}): ` +
    `${range(
      runs.map((r) => r.ratio),
      2,
      "x",
    )}, 429s ${range(share, 1, "%")}, failures ${range(
      runs.map((r) => r.failures),
      0,
    )}, duplicates ${range(
      runs.map((r) => r.duplicates),
      0,
    )}, start-up ${range(
      runs.map((r) => r.startupMs),
      0,
      " ms",
    )}${verdict}`
  );
}

/** The runs' ratios, min–max, grouped by how many holds each waited out. */
function byHolds(runs: Run[]): string {
  const counts = [...new Set(runs.map((r) => r.holds))].sort((a, b) => a - b);
  return counts
    .map((holds) => {
      const ratios = runs.filter((r) => r.holds === holds).map((r) => r.ratio);
      return `${holds}: ${range(ratios, 2, "x")} (${ratios.length} of ${runs.length})`;
    })
    .join(", ");
}

/** This file and what it imports as one CommonJS file, for the processes to start without compiling TypeScript. */
async function bundled(dir: string): Promise<string> {
  const { build } = await import("esbuild");
  const outfile = path.join(dir, "fleet.cjs");
  const entry = new URL(import.meta.url).pathname;
  await build({ entryPoints: [entry], bundle: true, platform: "node", format: "cjs", outfile, logLevel: "error" });
  return outfile;
}

async function main(): Promise<void> {
  const picked = process.env.SHAPES?.split(",").map((name) => name.trim());
  const modes = (["own", "redis"] as const).filter((mode) => !process.env.MODES || process.env.MODES.includes(mode));
  const dir = await mkdtemp(path.join(tmpdir(), "psr-fleet-"));
  const redis = await startRedisServer();
  let key = 0;
  try {
    const bundle = await bundled(dir);
    console.log(`${PROCESSES} processes x ${CALLS} concurrent creates, default options; ${RUNS} runs of each`);
    for (const test of cases.filter((c) => !picked || picked.some((name) => c.name.startsWith(name)))) {
      const runs: Record<"own" | "redis", Run[]> = { own: [], redis: [] };
      for (let run = 0; run < RUNS; run++) {
        for (const mode of modes) {
          const result = await runFleet(bundle, test, mode === "redis" ? redis.url : "", `fleet-${key++}`);
          runs[mode].push(result);
          console.log(
            `  ${test.name}, ${mode}: ${result.ratio.toFixed(2)}x, holds ${result.holds}, 429s ${result.limited} of ${result.requests}, ` +
              `failures ${result.failures}, duplicates ${result.duplicates}, start-up ${result.startupMs.toFixed(0)} ms`,
          );
          if (process.env.TRACE) console.log(`    ${result.phases}`);
        }
      }
      if (runs.own.length > 0) console.log(summary(test, "own gate per process", runs.own));
      if (runs.redis.length > 0) {
        console.log(summary(test, "shared Redis limiter", runs.redis, test.target));
        console.log(`  by holds waited out: ${byHolds(runs.redis)}`);
      }
    }
  } finally {
    await redis.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const [role, ...args] = process.argv.slice(2);
if (role === "limiter") void limiterProcess(args[0] ?? "");
else if (role === "member") void member(args[0] ?? "0", args[1] ?? "", args[2] ?? "", args[3] ?? "");
else void main();
