import type { ClusterStatus, NamespaceStatus, ShardMetadata } from '../cluster/cluster-status.js';
import { nodeId, type NodeAddress } from '../cluster/node-address.js';

/*
 * Immutable edits of a ClusterStatus. The coordinator keeps one status value and replaces it
 * with an edited copy for every change, so a change that fails to persist leaves nothing
 * half-applied in memory.
 */

/** Where a shard lives: shard ids are unique across namespaces, the namespace names its storage. */
export interface ShardKey {
  readonly namespace: string;
  readonly shard: bigint;
}

export function shardLabel(key: ShardKey): string {
  return `${key.namespace}/${key.shard}`;
}

export function findShard(status: ClusterStatus, key: ShardKey): ShardMetadata | undefined {
  return status.namespaces.get(key.namespace)?.shards.get(key.shard);
}

/** The status with `metadata` as the shard's; the namespace must exist. */
export function withShard(status: ClusterStatus, key: ShardKey, metadata: ShardMetadata): ClusterStatus {
  const ns = status.namespaces.get(key.namespace);
  if (!ns) throw new Error(`bug: namespace ${key.namespace} is not in the cluster status`);
  const shards = new Map(ns.shards);
  shards.set(key.shard, metadata);
  return withNamespace(status, key.namespace, { ...ns, shards });
}

/** The status without the shard (its namespace stays, possibly empty). */
export function withoutShard(status: ClusterStatus, key: ShardKey): ClusterStatus {
  const ns = status.namespaces.get(key.namespace);
  if (!ns?.shards.has(key.shard)) return status;
  const shards = new Map(ns.shards);
  shards.delete(key.shard);
  return withNamespace(status, key.namespace, { ...ns, shards });
}

export function withNamespace(status: ClusterStatus, name: string, namespace: NamespaceStatus): ClusterStatus {
  const namespaces = new Map(status.namespaces);
  namespaces.set(name, namespace);
  return { ...status, namespaces };
}

export function withoutNamespace(status: ClusterStatus, name: string): ClusterStatus {
  if (!status.namespaces.has(name)) return status;
  const namespaces = new Map(status.namespaces);
  namespaces.delete(name);
  return { ...status, namespaces };
}

export function containsNode(nodes: readonly NodeAddress[], node: NodeAddress): boolean {
  const id = nodeId(node);
  return nodes.some((n) => nodeId(n) === id);
}

export function withoutNode(nodes: readonly NodeAddress[], node: NodeAddress): NodeAddress[] {
  const id = nodeId(node);
  return nodes.filter((n) => nodeId(n) !== id);
}

/** `a` followed by the nodes of `b` it does not already hold (by node id). */
export function unionNodes(a: readonly NodeAddress[], b: readonly NodeAddress[]): NodeAddress[] {
  const out = [...a];
  for (const n of b) if (!containsNode(out, n)) out.push(n);
  return out;
}

/** Every node the status mentions (leaders, ensembles, nodes being removed or cleaned up), by node id. */
export function nodesInStatus(status: ClusterStatus): Map<string, NodeAddress> {
  const out = new Map<string, NodeAddress>();
  for (const ns of status.namespaces.values()) {
    for (const s of ns.shards.values()) {
      for (const n of [...s.ensemble, ...s.removedNodes, ...s.pendingDeleteShardNodes, ...(s.leader ? [s.leader] : [])]) {
        if (!out.has(nodeId(n))) out.set(nodeId(n), n);
      }
    }
  }
  return out;
}
