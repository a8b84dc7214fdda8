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

export default defineConfig([
  {
    entry: { index: "src/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    // Added here rather than in `plugins`, which tsdown leaves out of the .d.cts build.
    inputOptions(options) {
      options.plugins = [options.plugins, docCommentsOnOwnLines()];
    },
    platform: "neutral",
    target: "node20",
    clean: true,
  },
  {
    // planetscale-roles/testing: its own build, so the main entry shares no chunk with the fake.
    entry: { testing: "src/testing/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    inputOptions(options) {
      options.plugins = [options.plugins, docCommentsOnOwnLines()];
    },
    platform: "neutral",
    target: "node20",
    clean: false,
  },
  {
    // planetscale-roles/redis: its own build, the only one that loads ioredis (an optional peer
    // dependency, so it stays external); the main entry never references it.
    entry: { redis: "src/redis/index.ts" },
    format: ["esm", "cjs"],
    dts: true,
    inputOptions(options) {
      options.plugins = [options.plugins, docCommentsOnOwnLines()];
    },
    platform: "node",
    // .js and .cjs, as the other entries (platform "node" would name the ESM build .mjs).
    fixedExtension: false,
    target: "node20",
    clean: false,
  },
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
