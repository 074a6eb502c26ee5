/**
 * Quorum commit: an entry is committed once a majority of the ensemble (the leader
 * included) has it durably. Given each member's highest durable offset, the commit
 * offset is the highest offset that at least a majority has reached.
 */
export function majority(replicationFactor: number): number {
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    throw new RangeError(`replication factor must be a positive integer, got ${replicationFactor}`);
  }
  return Math.floor(replicationFactor / 2) + 1;
}

/**
 * @param durableOffsets the leader's and each follower's highest durable offset (-1 for none);
 *        members that never answered are simply absent.
 * @returns the highest offset durable on a majority, or -1 when there is none.
 */
export function quorumCommitOffset(durableOffsets: readonly bigint[], replicationFactor: number): bigint {
  const needed = majority(replicationFactor);
  if (durableOffsets.length < needed) return -1n;
  const sorted = [...durableOffsets].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  return sorted[needed - 1] ?? -1n;
}
