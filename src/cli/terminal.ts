// What reaches a person's terminal. Text from the server (role names, messages, request ids) and
// from argv can hold control characters that move the cursor, retitle the window, forge a line
// or reverse what is read; they are shown as visible escapes, in the library's one style.
import { CONTROL_CHARACTERS, escapeControl, printable } from "../secrets.ts";

const ANY_CONTROL = new RegExp(`[${CONTROL_CHARACTERS}]`);
const CONTROL_EXCEPT_NEWLINE = new RegExp(
  `[${CONTROL_CHARACTERS.replace("\\u0000-\\u001f", "\\u0000-\\u0009\\u000b-\\u001f")}]`,
  "g",
);

export function hasControl(text: string): boolean {
  return ANY_CONTROL.test(text);
}

/** One line of text, every control character (line breaks included) escaped. */
export const visible = printable;

/**
 * Text of several lines: line breaks kept, every other control character escaped. For JSON from
 * JSON.stringify this is lossless: its only raw line breaks are between tokens, and an escape
 * inside a string reads back as the same character.
 */
export function visibleLines(text: string): string {
  return text.replace(CONTROL_EXCEPT_NEWLINE, escapeControl);
}
