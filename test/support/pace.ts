// A Pace driven on exact times (src/gate.ts): the steps its tests share.
import { Pace } from "../../src/gate.ts";

/** Reserves `count` slots at `now` and returns their waits. */
export const waits = (pace: Pace, now: number, count: number) => Array.from({ length: count }, () => pace.reserve(now));

/** A pace whose first request went at 0 and whose first hold came at 10 after `accepted` answers, held `retryAfterMs`. */
export function afterFirstHold(accepted: number, retryAfterMs: number): Pace {
  const pace = new Pace();
  waits(pace, 0, 1);
  for (let i = 0; i < accepted; i++) pace.accepted(5);
  pace.limited(10, retryAfterMs);
  return pace;
}
