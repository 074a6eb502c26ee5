import type { ServiceIdentifier } from 'inversify';
import type { NodeAddress } from '../../domain/cluster/node-address.js';

/**
 * The set of storage nodes the coordinator may place shards on: the config's server list
 * (static) or the pods of the storage StatefulSet (Kubernetes). It says which nodes are
 * members, not which are healthy: the coordinator health-checks members itself.
 */
export interface NodeDiscovery {
  /** Resolves once the first member list is known; rejects with an OxiaError when it cannot be. */
  start(): Promise<void>;
  /** The members now, ordered by node id. Only valid after start(). */
  current(): readonly NodeAddress[];
  /**
   * Calls `listener` with the whole member list after every change (not with the current
   * list on subscription: read current() for that). Returns the unsubscribe function.
   */
  watch(listener: (nodes: readonly NodeAddress[]) => void): () => void;
  close(): Promise<void>;
}
export const NodeDiscovery: ServiceIdentifier<NodeDiscovery> = Symbol.for('oxia.NodeDiscovery');
