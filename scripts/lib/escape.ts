// Text from the upstream document is untrusted. It reaches a terminal, where ESC and BEL drive the
// screen, and a pull request body, where Markdown, HTML, mentions and issue references act.
import { CONTROL_CHARACTERS, escapeControl, printable } from "../../src/secrets.ts";

// One list of control characters, one way to escape them: the client's own (src/secrets.ts).
const CONTROL_BUT_NEWLINE = new RegExp(`(?!\\n)[${CONTROL_CHARACTERS}]`, "g");
const EVERY_CONTROL = new RegExp(`[${CONTROL_CHARACTERS}]`, "g");

/** A message for the terminal: control characters as visible escapes (`\u001b`); line breaks stay. */
export function printableLines(text: string): string {
  return text.replace(CONTROL_BUT_NEWLINE, escapeControl);
}

/**
 * JSON for a terminal. JSON.stringify escapes C0 controls inside strings, so the C0 left are its
 * own line breaks; DEL, C1 and the Unicode controls it leaves raw become \u escapes, still JSON.
 */
export function terminalJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(EVERY_CONTROL, (char) => (char < " " ? char : escapeControl(char)));
}

/** A Markdown code span that shows `text` literally, whatever backticks it holds. */
export function codeSpan(text: string): string {
  const content = printable(text);
  const longestRun = Math.max(0, ...(content.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longestRun + 1);
  // A renderer strips one space from each end when both ends have one; pad so that a backtick
  // or a space at either end survives.
  const padded = content === "" || /^[` ]|[` ]$/.test(content) ? ` ${content} ` : content;
  return `${fence}${padded}${fence}`;
}

/**
 * Text for the middle of a Markdown list item: controls escaped, and what opens code, emphasis,
 * links, HTML or entities backslash-escaped (an underscore inside a word opens nothing, so
 * `pg_monitor` stays readable in a terminal). GitHub links `@name` and `#123` in text, escaped or
 * not (though not in code): a word joiner after the sign, invisible, leaves them inert.
 */
export function markdownText(text: string): string {
  return printable(text)
    .replace(/[\\`*[\]<&~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])/g, "\\$&")
    .replace(/([@#])(?=[A-Za-z0-9])/g, "$1\u2060");
}
