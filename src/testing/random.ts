// Identifiers and secrets for the fake, from the web crypto every runtime has (Node, Bun, Deno,
// workerd), so that nothing here needs a node: import.

const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomString(alphabet: string, length: number): string {
  // 256 is not a multiple of the alphabet's size: bytes past the last whole multiple are drawn
  // again, so that every character is equally likely.
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length))) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

/** An id shaped like PlanetScale's: twelve lowercase letters and digits. */
export function randomId(length = 12): string {
  return randomString(LOWER_ALNUM, length);
}

/** A role password shaped like PlanetScale's `pscale_pw_…`. */
export function randomPassword(): string {
  return `pscale_pw_${randomString(ALNUM, 43)}`;
}

export function randomRequestId(): string {
  return crypto.randomUUID();
}
