import { compareBytes, prefixSuccessor } from '../keys/bytes.js';
import { keyEncoder } from '../keys/key-encoder.js';
import type { KeySorting } from '../sharding/namespace.js';
import type { KeyScope } from './access-policy.js';

/**
 * Whether keys and key ranges lie inside a KeyScope. Ranges are in the namespace's
 * key order (ADR 0006), where the keys under a prefix are not one interval: with
 * hierarchical sorting keys order by depth first, so the keys under "/t/a/" form one
 * interval per depth. A range is inside the scope when it lies within one such
 * interval of one prefix; a range that merely could hold outside keys is outside
 * (denied, never clipped).
 */
export function keyInScope(scope: KeyScope, key: string): boolean {
  if (scope.kind === 'all') return true;
  if (scope.kind === 'none') return false;
  return scope.prefixes.some((p) => key.startsWith(p));
}

/** [start, end) in the namespace's order; an empty `end` is unbounded. */
export function rangeInScope(scope: KeyScope, sorting: KeySorting, start: string, end: string): boolean {
  if (scope.kind === 'all') return true;
  if (scope.kind === 'none') return false;
  if (end === '') return false;
  const encoder = keyEncoder(sorting);
  const from = encoder.encode(start);
  const to = encoder.encode(end);
  // An empty or inverted range reaches no key at all.
  if (compareBytes(from, to) >= 0) return true;
  return scope.prefixes.some((prefix) => {
    const lo = prefixInterval(sorting, prefix, from);
    const hi = prefixSuccessor(lo);
    return compareBytes(from, lo) >= 0 && (hi === undefined || compareBytes(to, hi) <= 0);
  });
}

/**
 * The encoded form every key under `prefix` starts with, at the depth of the range's
 * start: natural sorting has one interval; hierarchical has one per depth, and a
 * range inside it must start at that depth.
 */
function prefixInterval(sorting: KeySorting, prefix: string, rangeStart: Uint8Array): Uint8Array {
  const encoded = keyEncoder(sorting).encode(prefix);
  if (sorting === 'natural') return encoded;
  const lo = encoded.slice();
  lo[0] = rangeStart[0] ?? 0;
  lo[1] = rangeStart[1] ?? 0;
  return lo;
}

/**
 * Whether [start, end) may hold a key of the scope: for notifications of a deleted
 * range, which a watcher of the scope must see when the range reaches into it. Errs
 * towards true: with hierarchical sorting a range over three or more depths holds
 * every key of the depths between its ends.
 */
export function rangeTouchesScope(scope: KeyScope, sorting: KeySorting, start: string, end: string): boolean {
  if (scope.kind === 'all') return true;
  if (scope.kind === 'none') return false;
  if (scope.prefixes.some((p) => start.startsWith(p))) return true;
  const encoder = keyEncoder(sorting);
  const from = encoder.encode(start);
  const to = end === '' ? undefined : encoder.encode(end);
  if (to !== undefined && compareBytes(from, to) >= 0) return false;
  return scope.prefixes.some((prefix) => {
    if (sorting === 'hierarchical') {
      // Keys under the prefix are at least as deep as the prefix itself.
      const least = depthOf(encoder.encode(prefix));
      // Every key of a depth strictly between the ends lies in the range.
      if (to === undefined || depthOf(to) - 1 > Math.max(depthOf(from), least - 1)) return true;
      const ends = [from, to].filter((at) => depthOf(at) >= least);
      return ends.some((at) => overlaps(prefixInterval(sorting, prefix, at), from, to));
    }
    return overlaps(prefixInterval(sorting, prefix, from), from, to);
  });
}

/** [lo, successor of lo) and [from, to) share a point. */
function overlaps(lo: Uint8Array, from: Uint8Array, to: Uint8Array | undefined): boolean {
  const hi = prefixSuccessor(lo);
  return (hi === undefined || compareBytes(from, hi) < 0) && (to === undefined || compareBytes(lo, to) < 0);
}

function depthOf(encoded: Uint8Array): number {
  return ((encoded[0] ?? 0) << 8) | (encoded[1] ?? 0);
}
