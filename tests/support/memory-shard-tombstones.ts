import type { ShardTombstones } from '../../src/application/ports/shard-tombstones.js';

/**
 * Deleted shards in memory, for nodes built in-process (the simulation keeps one per node, so
 * that they outlive its restarts, as the file does a real node's).
 */
export class MemoryShardTombstones implements ShardTombstones {
  private readonly deleted = new Set<bigint>();

  has(shard: bigint): boolean {
    return this.deleted.has(shard);
  }

  add(shard: bigint): Promise<void> {
    this.deleted.add(shard);
    return Promise.resolve();
  }
}
