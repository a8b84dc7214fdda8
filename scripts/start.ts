// npm start: the main job on the embedded default. Starts Prism on the bundled spec, creates a role
// against it with throwaway credentials (no network, nothing real), prints it, stops Prism.
import { inspect } from "node:util";
import { createClient } from "../src/index.ts";
import { startPrism } from "./lib/prism.ts";

const prism = await startPrism("openapi/planetscale.yaml");
try {
  console.error(`Prism mock of openapi/planetscale.yaml listening on ${prism.url} (started in ${prism.startupMs} ms)`);
  const ps = createClient({ serviceToken: { id: "example-id", token: "example-token" }, baseUrl: prism.url });
  const role = await ps.createRole({
    organization: "acme",
    database: "app-db",
    branch: "main",
    name: "ci-reader",
    ttl: 3600,
    inherited_roles: ["pg_read_all_data"],
  });
  // inspect masks the password: printing a role never shows it.
  console.log(inspect(role, { depth: 3 }));
} finally {
  await prism.stop();
}
