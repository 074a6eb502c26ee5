import type { ServiceIdentifier } from 'inversify';

/**
 * The shards DeleteShard removed from this node, remembered across restarts. Shard ids are
 * never reused, so a deleted shard never comes back: a leader deleted after its followers
 * keeps streaming to them until then, and must not bring the shard's files back on a
 * follower, also not on one that restarted meanwhile.
 */
export interface ShardTombstones {
  /** Whether the shard was deleted from this node, in this run or an earlier one. */
  has(shard: bigint): boolean;
  /** Records the deletion; `has` answers true at once, and a restart still knows it once this resolves. */
  add(shard: bigint): Promise<void>;
}
export const ShardTombstones: ServiceIdentifier<ShardTombstones> = Symbol.for('oxia.ShardTombstones');
