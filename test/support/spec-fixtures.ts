// PlanetScale's published documents, kept in test/fixtures/spec so that nothing reads outside the
// repository. The full document is gzipped there; `unpackUpstream` writes it out for spec:pull.
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { ROOT } from "./run.ts";
import { startServer, type TestServer } from "./servers.ts";

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

/** What an external `$ref` could reach: a schema file and a loopback server, each with a marker that must leak nowhere. */
export interface RefTargets {
  /** Absolute path of a schema file whose description is `marker`. */
  file: string;
  /** A URL on a loopback server that would answer the same schema; it records every request. */
  url: string;
  marker: string;
  server: TestServer;
}

export async function externalRefTargets(dir: string): Promise<RefTargets> {
  const marker = "EXTERNAL-SCHEMA-MARKER-7f3a";
  const schema = `type: string\ndescription: ${marker}\n`;
  const file = path.join(dir, "external-schema.yaml");
  await writeFile(file, schema);
  const server = await startServer((_request, res) => res.writeHead(200, { "content-type": "text/yaml" }).end(schema));
  return { file, url: `${server.url}/schema.yaml`, marker, server };
}
