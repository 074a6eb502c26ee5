import { ShardKeyRouter, type ShardAssignments } from '../wire/client.js';
import type { HashRange } from './hash-range.js';

export interface ShardPlacement {
  readonly shard: bigint;
  readonly range: HashRange;
  /** Public address of the shard's leader; '' while it has none. */
  readonly leader: string;
}

/** The ShardAssignments message for the given namespaces' shards, routed by XXH3. */
export function shardAssignmentsMessage(namespaces: ReadonlyMap<string, readonly ShardPlacement[]>): ShardAssignments {
  const out: ShardAssignments = { namespaces: {}, allowedAuthorities: [] };
  for (const [name, shards] of namespaces) {
    out.namespaces[name] = {
      shardKeyRouter: ShardKeyRouter.XXHASH3,
      assignments: shards.map((s) => ({
        shard: s.shard,
        leader: s.leader,
        shardBoundaries: { $case: 'int32HashRange', value: { minHashInclusive: s.range.min, maxHashInclusive: s.range.max } },
      })),
    };
  }
  return out;
}
