// Passwords that break careless quoting or encoding: every URL-reserved character, alone and in
// pairs, and non-ASCII text. Shared by the connection-string and env-line tests.
const RESERVED = ":/?#[]@!$&'()*+,;=%\"<>\\^`{|} ";
const NON_ASCII = "pässwörd-密码-🔑-ñ";

export const HARD_PASSWORDS = [
  RESERVED,
  NON_ASCII,
  `${RESERVED}${NON_ASCII}`,
  ...[...RESERVED].map((c) => `pw${c}x${c}`),
  "plain_Passw0rd",
];
