// The mutation run's global setup: the Prism mock only. Stryker copies the repo into a sandbox
// folder it makes private (0700), which Postgres's own user cannot enter, so the check that npm
// test makes for the Postgres suites would stop a run that excludes them.
export { provideMock as default } from "./global-setup.ts";
