// Before any suite: what the machine must have, then one Prism mock for the whole run, on the
// committed spec, on a free loopback port.
import type { TestProject } from "vitest/node";
import { startPrism } from "../../scripts/lib/prism.ts";
import { closedToPostgres, missingPrograms } from "./preflight.ts";

declare module "vitest" {
  export interface ProvidedContext {
    prismUrl: string;
    prismStartupMs: number;
  }
}

export default async function setup(project: TestProject) {
  const missing = missingPrograms() ?? closedToPostgres(process.cwd());
  if (missing) throw new Error(missing);
  return provideMock(project);
}

/** Starts the Prism mock the suites `inject`; gives back what stops it. */
export async function provideMock(project: TestProject) {
  const prism = await startPrism("openapi/planetscale.yaml");
  project.provide("prismUrl", prism.url);
  project.provide("prismStartupMs", prism.startupMs);
  console.log(`Prism listening on ${prism.url} after ${prism.startupMs} ms`);
  return () => prism.stop();
}
