import { allShards, type ClusterStatus } from '../cluster/cluster-status.js';
import { nodeId } from '../cluster/node-address.js';
import { countsTowardsLoad } from './node-load.js';
import { shardLabel, type ShardKey } from './status-edit.js';

/** Below this share of shards with a leader, the cluster is still forming: leaders are not moved. */
export const ELECTED_SHARE_MIN = 0.75;

/**
 * The shard whose leadership, moved to the least busy available member of its ensemble, evens
 * out leaders the most, as Oxia's balancer chooses it: only moves that shrink the gap between
 * the current leader's count and the target's by at least 2 count (so that repeated moves end),
 * only available nodes give or take leaders (a node that just came back is not available until
 * it has been stable a while), quarantined shards (a recent move that changed nothing) are
 * skipped. Undefined when no move helps or the cluster is still electing.
 *
 * The move itself is a new election of that shard: the leader choice prefers the member leading
 * the fewest shards among those with the newest entries.
 */
export function bestLeaderMove(status: ClusterStatus, available: (nodeId: string) => boolean, quarantined: ReadonlySet<string>): ShardKey | undefined {
  const counts = new Map<string, number>();
  let total = 0;
  let elected = 0;
  for (const { metadata } of allShards(status)) {
    if (!countsTowardsLoad(metadata)) continue;
    total++;
    for (const n of metadata.ensemble) if (available(nodeId(n)) && !counts.has(nodeId(n))) counts.set(nodeId(n), 0);
    if (!metadata.leader) continue;
    elected++;
    const id = nodeId(metadata.leader);
    if (available(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  if (total === 0 || elected / total < ELECTED_SHARE_MIN) return undefined;

  let best: ShardKey | undefined;
  let bestGap = 1;
  for (const { namespace, shard, metadata } of allShards(status)) {
    if (!countsTowardsLoad(metadata) || metadata.status !== 'SteadyState' || !metadata.leader) continue;
    const key = { namespace, shard };
    if (quarantined.has(shardLabel(key))) continue;
    const donor = counts.get(nodeId(metadata.leader));
    if (donor === undefined) continue; // leaders on unavailable nodes are the failure handling's business
    const targets = metadata.ensemble.map((n) => counts.get(nodeId(n))).filter((c): c is number => c !== undefined);
    if (targets.length === 0) continue;
    const gap = donor - Math.min(...targets);
    if (gap > bestGap) {
      bestGap = gap;
      best = key;
    }
  }
  return best;
}
