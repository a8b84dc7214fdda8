// "did you mean --ttl?": the nearest of the names a command knows, when one is near enough to be
// a slip of the fingers (a letter wrong, missing, added, or two swapped) rather than another word.

/** Levenshtein distance: the fewest one-character edits that turn `a` into `b`. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(substitution, (previous[j] as number) + 1, (current[j - 1] as number) + 1);
    }
    previous = current;
  }
  return previous[b.length] as number;
}

/** The known name nearest to `typed`: at most two edits away, and fewer than half its length. */
export function nearestName(typed: string, known: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(typed, name);
    if (distance <= 2 && distance < typed.length / 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}
