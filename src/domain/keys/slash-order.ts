/**
 * Oxia's `CompareWithSlash`: the order the official clients use to merge the results of
 * several shards (ADR 0006, "Client merge order"). It is the order of Oxia's old storage
 * format, not of the keys' encoding (`keyComparator`), and it does not depend on the
 * namespace's key sorting.
 *
 * Keys compare '/'-separated segment by segment. While both keys have a '/' left, their
 * next segments compare as strings; as soon as one key has no '/' left, it is the smaller
 * (it ends at a shallower level), unless the other has none left either, and then the two
 * remainders compare as strings. So "/aa" < "/a/b" (ends first) and "/a/b" < "/aa/a"
 * ("a" < "aa"), and "a/" < "a/b" (an empty last segment is the shorter remainder).
 *
 * Strings compare by UTF-16 code unit, as in the official Node client. Oxia's Go function
 * compares UTF-8 bytes; the two differ only where a character above U+FFFF meets one in
 * U+E000..U+FFFF at the same position of a segment (UTF-16 puts the former first).
 */
export function compareWithSlash(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const slashA = a.indexOf('/', i);
    const slashB = b.indexOf('/', j);
    if (slashA < 0 || slashB < 0) {
      if (slashA >= 0) return 1;
      if (slashB >= 0) return -1;
      return compareSpans(a, i, a.length, b, j, b.length);
    }
    const c = compareSpans(a, i, slashA, b, j, slashB);
    if (c !== 0) return c;
    i = slashA + 1;
    j = slashB + 1;
  }
  // One key is used up; the other sorts after it if anything is left of it.
  return Math.sign(a.length - i - (b.length - j));
}

/** a[aFrom, aTo) against b[bFrom, bTo) by UTF-16 code unit, a prefix first: -1, 0 or 1. */
function compareSpans(a: string, aFrom: number, aTo: number, b: string, bFrom: number, bTo: number): number {
  const n = Math.min(aTo - aFrom, bTo - bFrom);
  for (let k = 0; k < n; k++) {
    const x = a.charCodeAt(aFrom + k);
    const y = b.charCodeAt(bFrom + k);
    if (x !== y) return x < y ? -1 : 1;
  }
  return Math.sign(aTo - aFrom - (bTo - bFrom));
}
