import type { AntiAffinity as WireAntiAffinity, DataServer, DataServerIdentity, Namespace, NamespaceStatus as WireNamespaceStatus, ShardMetadata as WireShardMetadata } from '../wire/metadata.js';
import { ShardStatus as WireShardStatus } from '../wire/metadata.js';
import type { DataServerDeclaration } from './admin-changes.js';
import type { NamespaceConfig } from './cluster-config.js';
import type { NamespaceStatus, ShardMetadata, ShardStatus } from './cluster-status.js';
import type { NodeAddress } from './node-address.js';

/*
 * The admin API's messages (Oxia's metadata.proto) from and to the coordinator's model. Pure
 * data: the application answers with these, the gRPC adapter only encodes them.
 */

export function identityOf(node: NodeAddress): DataServerIdentity {
  return { name: node.name, public: node.public, internal: node.internal };
}

/** As Oxia lists servers: the name is always filled in, with the internal address when the server has none. */
export function dataServerOf(declaration: DataServerDeclaration): DataServer {
  const { address } = declaration;
  return {
    identity: { name: address.name ?? address.internal, public: address.public, internal: address.internal },
    metadata: { labels: { ...(declaration.metadata?.labels ?? {}) } },
  };
}

export function namespaceOf(config: NamespaceConfig): Namespace {
  return {
    name: config.name,
    initialShardCount: config.initialShardCount,
    replicationFactor: config.replicationFactor,
    notificationsEnabled: config.notificationsEnabled,
    keySorting: config.keySorting,
    antiAffinities: config.antiAffinities.map((a): WireAntiAffinity => ({ labels: [...a.labels], mode: a.mode })),
  };
}

const SHARD_STATUS: Readonly<Record<ShardStatus, WireShardStatus>> = {
  Unknown: WireShardStatus.ShardStatusUnknown,
  SteadyState: WireShardStatus.SteadyState,
  Election: WireShardStatus.Election,
  Deleting: WireShardStatus.Deleting,
};

export function shardMetadataOf(shard: ShardMetadata): WireShardMetadata {
  return {
    status: SHARD_STATUS[shard.status],
    term: shard.term,
    leader: shard.leader ? identityOf(shard.leader) : undefined,
    ensemble: shard.ensemble.map(identityOf),
    removedNodes: shard.removedNodes.map(identityOf),
    pendingDeleteShardNodes: shard.pendingDeleteShardNodes.map(identityOf),
    int32HashRange: { min: shard.int32HashRange.min, max: shard.int32HashRange.max },
    split: undefined,
  };
}

export function namespaceStatusOf(status: NamespaceStatus | undefined): WireNamespaceStatus {
  const shards = new Map<bigint, WireShardMetadata>();
  for (const [id, shard] of status?.shards ?? []) shards.set(id, shardMetadataOf(shard));
  return { replicationFactor: status?.replicationFactor ?? 0, shards };
}
