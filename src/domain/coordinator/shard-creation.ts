import type { NamespaceConfig, ServerMetadata } from '../cluster/cluster-config.js';
import type { ClusterStatus, ShardMetadata } from '../cluster/cluster-status.js';
import type { NodeAddress } from '../cluster/node-address.js';
import { splitHashRange } from '../sharding/hash-range.js';
import { chooseEnsemble } from './ensemble-choice.js';
import { replicaCounts } from './node-load.js';
import { withNamespace, withShard, type ShardKey } from './status-edit.js';

/** The term of a shard that never had an election: the first election makes it 0. */
export const TERM_BEFORE_FIRST_ELECTION = -1n;

export type NamespaceCreation =
  | { readonly ok: true; readonly status: ClusterStatus; readonly shards: readonly ShardKey[] }
  | { readonly ok: false; readonly reason: string };

/**
 * Adds a namespace of the config to the status, as Oxia's coordinator creates one: its
 * `initialShardCount` shards take the next ids of `shardIdGenerator` (ids are never reused,
 * across namespaces), split the 32-bit hash space evenly, and each gets an ensemble of
 * `replicationFactor` nodes chosen to spread load, counting the shards placed just before it.
 * The shards start with no leader at term -1 ("Unknown"): their first election follows.
 *
 * All or nothing: when any shard cannot be placed (too few servers, a strict anti-affinity),
 * nothing is created, so the hash space never has a hole.
 */
export function createNamespaceShards(
  status: ClusterStatus,
  config: NamespaceConfig,
  candidates: readonly NodeAddress[],
  serverMetadata: ReadonlyMap<string, ServerMetadata>,
): NamespaceCreation {
  if (status.namespaces.has(config.name)) return { ok: false, reason: `namespace ${config.name} already exists` };
  const ranges = splitHashRange(config.initialShardCount);
  let next: ClusterStatus = withNamespace(status, config.name, { replicationFactor: config.replicationFactor, shards: new Map() });
  const shards: ShardKey[] = [];
  let id = status.shardIdGenerator;
  for (const range of ranges) {
    const key = { namespace: config.name, shard: id };
    const choice = chooseEnsemble(
      {
        namespace: config.name,
        shard: id,
        candidates,
        load: replicaCounts(next),
        antiAffinities: config.antiAffinities,
        serverMetadata,
      },
      config.replicationFactor,
    );
    if (!choice.ok) return { ok: false, reason: `cannot create namespace ${config.name}: ${choice.reason}` };
    const shard: ShardMetadata = {
      status: 'Unknown',
      term: TERM_BEFORE_FIRST_ELECTION,
      ensemble: choice.ensemble,
      removedNodes: [],
      pendingDeleteShardNodes: [],
      int32HashRange: range,
    };
    next = withShard(next, key, shard);
    shards.push(key);
    id++;
  }
  return { ok: true, status: { ...next, shardIdGenerator: id }, shards };
}
