/** An inclusive range of 32-bit routing hashes owned by one shard. */
export interface HashRange {
  readonly min: number;
  readonly max: number;
}

export const HASH_MAX = 0xffff_ffff;

/**
 * Splits the 32-bit hash space into `count` contiguous inclusive ranges the way
 * Oxia does (equal buckets of floor((2^32-1)/count)+1 hashes, the last one
 * stretched to 2^32-1), so shard boundaries agree with Oxia's coordinator.
 */
export function splitHashRange(count: number): HashRange[] {
  if (!Number.isInteger(count) || count < 1 || count > HASH_MAX) {
    throw new RangeError(`shard count must be an integer from 1 to ${HASH_MAX}, got ${count}`);
  }
  const bucket = Math.floor(HASH_MAX / count) + 1;
  const ranges: HashRange[] = [];
  for (let i = 0; i < count; i++) {
    const min = i * bucket;
    const max = i === count - 1 ? HASH_MAX : min + bucket - 1;
    ranges.push({ min, max });
  }
  return ranges;
}

export function rangeContains(range: HashRange, hash: number): boolean {
  return hash >= range.min && hash <= range.max;
}

/** Whether every hash of `inner` is in `outer` (a split's child lies within its parent). */
export function rangeWithin(inner: HashRange, outer: HashRange): boolean {
  return inner.min >= outer.min && inner.max <= outer.max;
}

/** Finds the entry whose range holds `hash`; ranges are assumed disjoint. */
export function findByHash<T extends { readonly range: HashRange }>(items: readonly T[], hash: number): T | undefined {
  // A loop, not find(): it runs for every routed operation of the client.
  for (const i of items) if (rangeContains(i.range, hash)) return i;
  return undefined;
}

/** Where a range is split without a split point: its middle (the last hash of the left half). */
export function defaultSplitPoint(range: HashRange): number {
  return range.min + Math.floor((range.max - range.min) / 2);
}

/**
 * A shard's range cut in two at `splitPoint`, as Oxia does: the left child gets
 * [min, splitPoint], the right one [splitPoint + 1, max]. Undefined when a child would be empty.
 */
export function splitRangeAt(range: HashRange, splitPoint: number): readonly [HashRange, HashRange] | undefined {
  if (!Number.isInteger(splitPoint) || splitPoint < range.min || splitPoint >= range.max) return undefined;
  return [
    { min: range.min, max: splitPoint },
    { min: splitPoint + 1, max: range.max },
  ];
}
