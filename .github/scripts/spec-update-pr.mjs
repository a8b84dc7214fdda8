// Used by .github/workflows/spec-update.yml: turns what spec:pull, generate and npm test left behind
// into the spec-update pull request's body, and says whether it is a draft and how it is labelled.
//
//   node .github/scripts/spec-update-pr.mjs --changes F.json --summary F.md --log F.txt \
//     --generate <outcome> --test <outcome> --body OUT.md
//
// Outcomes are GitHub step outcomes (success, failure, cancelled, skipped). `draft` and `labels`
// (create-pull-request's inputs) go to $GITHUB_OUTPUT when it is set, else to stdout.
import { appendFile, readFile, writeFile } from "node:fs/promises";
import { parseArgs, stripVTControlCharacters } from "node:util";

// GitHub refuses a pull request body over 65 536 characters; keep room for the summary.
const BODY_LIMIT = 65_000;
const LABEL = "spec-update";
const BREAKING_LABEL = "breaking";

const { values } = parseArgs({
  options: {
    changes: { type: "string" },
    summary: { type: "string" },
    log: { type: "string" },
    generate: { type: "string", default: "success" },
    test: { type: "string", default: "success" },
    body: { type: "string" },
  },
});
for (const required of ["changes", "summary", "body"]) {
  if (!values[required]) {
    console.error(`spec-update-pr: --${required} is required`);
    process.exit(2);
  }
}

/**
 * Whether spec:pull's JSON flags a breaking change. Only `breaking` is read: true, a non-empty
 * array of breaking changes, or a positive count. Anything else, or JSON that cannot be read,
 * counts as breaking, so an unexpected shape gets a person's look rather than a quiet merge.
 */
function flagsBreaking(text) {
  let breaking;
  try {
    ({ breaking } = JSON.parse(text));
  } catch {
    return { breaking: true, note: "The change summary's JSON could not be read; treated as breaking." };
  }
  if (typeof breaking === "boolean") return { breaking };
  if (Array.isArray(breaking)) return { breaking: breaking.length > 0 };
  if (typeof breaking === "number") return { breaking: breaking > 0 };
  return { breaking: true, note: "The change summary's JSON has no readable `breaking`; treated as breaking." };
}

/** A fence longer than any run of backticks in `text`, so the output cannot close it early. */
function fenced(text) {
  const longest = Math.max(2, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  return `${fence}text\n${text}\n${fence}`;
}

function tail(text, limit) {
  if (text.length <= limit) return text;
  const cut = text.slice(text.length - limit);
  return `[… ${text.length - limit} earlier characters cut …]\n${cut.slice(cut.indexOf("\n") + 1)}`;
}

const readOptional = (file) => (file ? readFile(file, "utf8").catch(() => "") : Promise.resolve(""));

const summary = (await readFile(values.summary, "utf8")).trimEnd();
const verdict = flagsBreaking(await readOptional(values.changes));
const testsFailed = values.generate !== "success" || values.test !== "success";
const parts = [summary];
if (verdict.note) parts.push(`> ${verdict.note}`);
if (testsFailed) {
  // ANSI colour codes would show as garbage in the pull request.
  const output = stripVTControlCharacters(await readOptional(values.log)).trimEnd();
  const heading =
    `## Tests fail on this change\n\n\`npm run generate\`: ${values.generate}; \`npm test\`: ${values.test}. ` +
    "This pull request stays a draft until they pass. The end of their output:";
  const room = BODY_LIMIT - summary.length - heading.length - 200;
  parts.push(heading, fenced(tail(output || "(no output was captured)", Math.max(room, 1000))));
}
const body = parts.join("\n\n");
const cutNote = "\n\n[… cut to fit GitHub's limit on a pull request body …]";
await writeFile(
  values.body,
  `${body.length > BODY_LIMIT ? body.slice(0, BODY_LIMIT - cutNote.length) + cutNote : body}\n`,
);

const draft = verdict.breaking || testsFailed;
const labels = draft ? `${LABEL},${BREAKING_LABEL}` : LABEL;
// create-pull-request's `always-true` also turns an already open spec-update pull request into a
// draft; `true` would only apply when it is first created.
const outputs = `draft=${draft ? "always-true" : "false"}\nlabels=${labels}\n`;
if (process.env.GITHUB_OUTPUT) await appendFile(process.env.GITHUB_OUTPUT, outputs);
else process.stdout.write(outputs);
