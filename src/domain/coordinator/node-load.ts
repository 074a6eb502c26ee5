import type { ClusterStatus, ShardMetadata } from '../cluster/cluster-status.js';
import { nodeId } from '../cluster/node-address.js';

/**
 * Whether a shard counts towards a node's load. As in Oxia, every shard counts except one
 * being deleted: shards still waiting for their first election already have their ensemble,
 * and leaving them out would make the next placements pile onto the same nodes.
 */
export function countsTowardsLoad(shard: ShardMetadata): boolean {
  return shard.status !== 'Deleting';
}

/** Shard replicas per node id: how many ensembles each node is in. */
export function replicaCounts(status: ClusterStatus): Map<string, number> {
  const counts = new Map<string, number>();
  for (const ns of status.namespaces.values()) {
    for (const shard of ns.shards.values()) {
      if (!countsTowardsLoad(shard)) continue;
      for (const n of shard.ensemble) counts.set(nodeId(n), (counts.get(nodeId(n)) ?? 0) + 1);
    }
  }
  return counts;
}

/** Shards led per node id. */
export function leaderCounts(status: ClusterStatus): Map<string, number> {
  const counts = new Map<string, number>();
  for (const ns of status.namespaces.values()) {
    for (const shard of ns.shards.values()) {
      if (!countsTowardsLoad(shard) || !shard.leader) continue;
      const id = nodeId(shard.leader);
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}
