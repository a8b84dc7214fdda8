// What reaches a person's terminal. Text from the server (role names, messages, request ids) and
// from argv can hold control characters that move the cursor, retitle the window, forge a line
// or reverse what is read (C0, DEL, C1, bidi controls); they are shown as visible escapes.
const CONTROL = "\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069";
const ANY_CONTROL = new RegExp(`[${CONTROL}]`);
const CONTROL_EXCEPT_NEWLINE = new RegExp(
  `[${CONTROL.replace("\\u0000-\\u001f", "\\u0000-\\u0009\\u000b-\\u001f")}]`,
  "g",
);
const EVERY_CONTROL = new RegExp(`[${CONTROL}]`, "g");

// The short forms JSON uses, so that an escaped value reads as it would in --format json.
const SHORT: Record<string, string> = { "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r" };

const escapeChar = (char: string) => SHORT[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;

export function hasControl(text: string): boolean {
  return ANY_CONTROL.test(text);
}

/** One line of text, every control character (line breaks included) escaped. */
export function visible(text: string): string {
  return text.replace(EVERY_CONTROL, escapeChar);
}

/**
 * Text of several lines: line breaks kept, every other control character escaped. For JSON from
 * JSON.stringify this is lossless: its only raw line breaks are between tokens, and an escape
 * inside a string reads back as the same character.
 */
export function visibleLines(text: string): string {
  return text.replace(CONTROL_EXCEPT_NEWLINE, escapeChar);
}
