import { defineConfig, type Rolldown } from "tsdown";
import ts from "typescript";

/**
 * rolldown-plugin-dts 0.23 reprints the declarations with Babel, which writes a one-line doc comment
 * inside an object type at the end of the previous member's line (`a: string; /** doc *\/`), where
 * TypeScript does not attach it to the next member, so hovers lost the spec's field descriptions
 * (sxzz/rolldown-plugin-dts#182; the versions that drop Babel need Node 22). Babel keeps a comment
 * that spans lines on a line of its own, so each one-line doc comment gets a line break before its
 * end: the shortest form that does it (the usual three-line form would add 4 kB more to each .d.ts).
 */
function docCommentsOnOwnLines(): Rolldown.Plugin {
  return {
    name: "doc-comments-on-own-lines",
    transform: {
      order: "pre",
      filter: { id: /\.d\.[cm]?ts$/ },
      handler: (code) => expandOneLineDocComments(code),
    },
  };
}

function expandOneLineDocComments(code: string): string {
  const source = ts.createSourceFile("emitted.d.ts", code, ts.ScriptTarget.Latest, false);
  const comments = new Map<number, number>();
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) comments.set(range.pos, range.end);
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(code, node.pos));
    collect(ts.getTrailingCommentRanges(code, node.end));
    node.forEachChild(visit);
  };
  visit(source);
  let expanded = "";
  let copied = 0;
  for (const [pos, end] of [...comments].sort(([a], [b]) => a - b)) {
    const comment = code.slice(pos, end);
    if (!comment.startsWith("/**") || comment.includes("\n")) continue;
    expanded += `${code.slice(copied, pos)}/** ${comment.slice(3, -2).trim()}\n */`;
    copied = end;
  }
  return expanded + code.slice(copied);
}

/**
 * The ESM build's declarations: the CommonJS ones, re-exported. The two would be the same text (the
 * generated types and every hover doc, twice the package's weight in declarations); a .d.cts cannot
 * re-export an ES module, but a .d.ts can re-export a CommonJS one, and attw accepts it under every
 * resolution. The classes then have one declaration, which is what they are to a type checker.
 */
function esmDeclarationsFromCjs(name: string): Rolldown.Plugin {
  return {
    name: "esm-declarations-from-cjs",
    generateBundle() {
      this.emitFile({ type: "asset", fileName: `${name}.d.ts`, source: `export * from "./${name}.cjs";\n` });
    },
  };
}

/**
 * A library entry: ESM and CJS with types whose doc comments survive. Each entry is its own build,
 * so that no entry shares a chunk with another (the main one never carries the fake or ioredis).
 */
function libraryEntry(name: string, source: string, platform: "neutral" | "node", clean = false) {
  return {
    entry: { [name]: source },
    // The other entries name the main entry's types by the package's own name (type imports only),
    // so that their .d.ts refer to index.d.ts instead of printing the generated types again.
    external: name === "index" ? [] : [/^planetscale-roles$/],
    format: { esm: { dts: false as const }, cjs: {} },
    dts: true,
    // Added here rather than in `plugins`, which tsdown leaves out of the .d.cts build.
    inputOptions(options: Rolldown.InputOptions, format: string) {
      const own = format === "es" ? esmDeclarationsFromCjs(name) : docCommentsOnOwnLines();
      options.plugins = [options.plugins, own];
    },
    platform,
    // .js and .cjs for every entry (platform "node" would name the ESM build .mjs).
    fixedExtension: false,
    target: "node20",
    clean,
  };
}

export default defineConfig([
  libraryEntry("index", "src/index.ts", "neutral", true),
  // planetscale-roles/testing: the in-memory fake, web APIs only.
  libraryEntry("testing", "src/testing/index.ts", "neutral"),
  // planetscale-roles/redis: the only entry that loads ioredis (an optional peer dependency, so it
  // stays external).
  libraryEntry("redis", "src/redis/index.ts", "node"),
  // planetscale-roles/pg: the only entry that loads pg (an optional peer dependency, external too).
  libraryEntry("pg", "src/pg/index.ts", "node"),
  {
    // The command is ESM only (top-level await) and never imported.
    entry: { bin: "src/cli/bin.ts" },
    format: ["esm"],
    platform: "node",
    target: "node20",
    dts: false,
    clean: false,
  },
]);
