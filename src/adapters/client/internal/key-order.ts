/**
 * The namespace key orders, used to merge per-shard results the way one server would
 * have sorted them. Keys compare as their UTF-8 bytes (which is code point order).
 *
 * Hierarchical (Oxia's default): keys with fewer '/' come first (a trailing "//" does
 * not open a level); within a level '/' sorts after every other character, so a
 * directory's direct children are contiguous.
 *
 * TODO(keys): replace with the domain comparator from src/domain/keys/ once it lands.
 */
export type KeyCompare = (a: string, b: string) => number;

const SLASH = 0x2f;
/** '/' ranks above every code point (U+10FFFF is the largest). */
const SLASH_RANK = 0x110000;

function levels(key: string): number {
  let n = 0;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) === SLASH) n++;
  if (key.length >= 2 && key.charCodeAt(key.length - 1) === SLASH && key.charCodeAt(key.length - 2) === SLASH) n--;
  return n;
}

function compareCodePoints(a: string, b: string, slashRank: number): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    let ca = a.codePointAt(i) as number;
    let cb = b.codePointAt(j) as number;
    i += ca > 0xffff ? 2 : 1;
    j += cb > 0xffff ? 2 : 1;
    if (ca === SLASH) ca = slashRank;
    if (cb === SLASH) cb = slashRank;
    if (ca !== cb) return ca < cb ? -1 : 1;
  }
  const ra = a.length - i;
  const rb = b.length - j;
  return ra === rb ? 0 : ra < rb ? -1 : 1;
}

export const compareNatural: KeyCompare = (a, b) => compareCodePoints(a, b, SLASH);

export const compareHierarchical: KeyCompare = (a, b) => {
  const la = levels(a);
  const lb = levels(b);
  if (la !== lb) return la < lb ? -1 : 1;
  return compareCodePoints(a, b, SLASH_RANK);
};

export function keyCompareFor(sorting: 'hierarchical' | 'natural'): KeyCompare {
  return sorting === 'natural' ? compareNatural : compareHierarchical;
}
