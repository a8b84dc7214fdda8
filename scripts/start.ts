// npm start: the main job on the embedded default. Starts Prism on the bundled spec and runs
// `planetscale-roles create` against it with throwaway credentials: no account, no network.
import { spawn } from "node:child_process";
import { startPrism } from "./lib/prism.ts";

const prism = await startPrism("openapi/planetscale.yaml");
let code = 1;
try {
  console.error(`Prism mock of openapi/planetscale.yaml on ${prism.url} (started in ${prism.startupMs} ms)`);
  const args = [
    "create",
    "app-db",
    "main",
    "ci-reader",
    "--org",
    "acme",
    "--ttl",
    "1h",
    "--inherited-roles",
    "pg_read_all_data",
  ];
  console.error(`$ planetscale-roles ${args.join(" ")}\n`);
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/bin.ts", ...args, ...process.argv.slice(2)], {
    stdio: "inherit",
    env: {
      ...process.env,
      PLANETSCALE_API_URL: prism.url,
      PLANETSCALE_SERVICE_TOKEN_ID: "example-id",
      PLANETSCALE_SERVICE_TOKEN: "example-token",
    },
  });
  code = await new Promise<number>((resolve) => child.once("exit", (exitCode) => resolve(exitCode ?? 1)));
} finally {
  await prism.stop();
}
process.exitCode = code;
