import type { NamespaceConfig } from '../../../src/domain/cluster/cluster-config.js';
import type { ClusterStatus, ShardMetadata } from '../../../src/domain/cluster/cluster-status.js';
import type { NodeAddress } from '../../../src/domain/cluster/node-address.js';

/** node(1) -> {public: n1:6648, internal: n1:6649}; named when a name is given. */
export function node(i: number, name?: string): NodeAddress {
  const base = { public: `n${i}:6648`, internal: `n${i}:6649` };
  return name === undefined ? base : { name, ...base };
}

export function nodes(count: number): NodeAddress[] {
  return Array.from({ length: count }, (_, i) => node(i));
}

export function namespaceConfig(name: string, initialShardCount: number, replicationFactor: number, extra: Partial<NamespaceConfig> = {}): NamespaceConfig {
  return { name, initialShardCount, replicationFactor, notificationsEnabled: true, keySorting: 'hierarchical', antiAffinities: [], ...extra };
}

export function steadyShard(ensemble: readonly NodeAddress[], leader: NodeAddress | undefined, term = 3n, extra: Partial<ShardMetadata> = {}): ShardMetadata {
  return {
    status: leader ? 'SteadyState' : 'Unknown',
    term,
    ...(leader ? { leader } : {}),
    ensemble,
    removedNodes: [],
    pendingDeleteShardNodes: [],
    int32HashRange: { min: 0, max: 0xffff_ffff },
    ...extra,
  };
}

export function statusOf(shards: Record<string, Record<number, ShardMetadata>>, replicationFactor = 3): ClusterStatus {
  let max = -1n;
  const namespaces = new Map(
    Object.entries(shards).map(([name, byId]) => {
      const map = new Map<bigint, ShardMetadata>();
      for (const [id, s] of Object.entries(byId)) {
        map.set(BigInt(id), s);
        if (BigInt(id) > max) max = BigInt(id);
      }
      return [name, { replicationFactor, shards: map }];
    }),
  );
  return { namespaces, shardIdGenerator: max + 1n, serverIdx: 0 };
}
