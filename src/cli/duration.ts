// TTLs as people write them: "3600", "30m", "24h", "7d", "1h30m".
const UNIT_SECONDS = { d: 86_400, h: 3_600, m: 60, s: 1 } as const;
const DURATION = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** Seconds, or an Error whose message says what is accepted. */
export function parseDuration(text: string): number | Error {
  const trimmed = text.trim().toLowerCase();
  const accepted = "a whole number of seconds (3600) or a duration such as 30m, 24h, 7d or 1h30m";
  if (/^\d+$/.test(trimmed)) return checked(Number(trimmed), text, accepted);
  const match = DURATION.exec(trimmed);
  if (trimmed === "" || !match) return new Error(`${JSON.stringify(text)} is not ${accepted}`);
  const [, d, h, m, s] = match;
  const seconds =
    Number(d ?? 0) * UNIT_SECONDS.d +
    Number(h ?? 0) * UNIT_SECONDS.h +
    Number(m ?? 0) * UNIT_SECONDS.m +
    Number(s ?? 0);
  return checked(seconds, text, accepted);
}

function checked(seconds: number, text: string, accepted: string): number | Error {
  return Number.isSafeInteger(seconds) ? seconds : new Error(`${JSON.stringify(text)} is too long; give ${accepted}`);
}
