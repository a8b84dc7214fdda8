// PlanetScale's published documents, kept in test/fixtures/spec so that nothing reads outside the
// repository. The full document is gzipped there; `unpackUpstream` writes it out for spec:pull.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { ROOT } from "./run.ts";

const FIXTURES = path.join(ROOT, "test/fixtures/spec");

/** The "Create role credentials" docs page, with its document in a fenced yaml block. */
export const DOCS_PAGE = path.join(FIXTURES, "create_role.md");

/** Writes the full upstream document (2.4 MB) into `dir`; returns its path and its bytes. */
export async function unpackUpstream(dir: string): Promise<{ file: string; bytes: Buffer }> {
  const bytes = gunzipSync(await readFile(path.join(FIXTURES, "planetscale-openapi.yaml.gz")));
  const file = path.join(dir, "planetscale-openapi.yaml");
  await writeFile(file, bytes);
  return { file, bytes };
}
