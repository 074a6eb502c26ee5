import type { HashRange } from '../sharding/hash-range.js';
import type { AdminChanges } from './admin-changes.js';
import type { NodeAddress } from './node-address.js';

/**
 * The coordinator's checkpoint of the cluster: every shard's term, leader, ensemble and hash
 * range. It is persisted (ClusterStatusStore) before the coordinator acts on a change, so a
 * restarted or replacing coordinator continues from it. Field names and meaning follow
 * Oxia's ClusterStatus (common/proto/metadata.proto); cluster-status-codec.ts is its JSON form.
 */
export interface ClusterStatus {
  readonly namespaces: ReadonlyMap<string, NamespaceStatus>;
  /** The next shard id to hand out. Shard ids are unique across namespaces and never reused. */
  readonly shardIdGenerator: bigint;
  /** Round-robin cursor over the servers, used when choosing ensembles (uint32). */
  readonly serverIdx: number;
  /**
   * What the admin API changed in the cluster's configuration (admin-changes.ts). Ours, not
   * Oxia's: stored under `adminChanges` in the status object, which Oxia's readers skip.
   */
  readonly adminChanges?: AdminChanges | undefined;
}

export interface NamespaceStatus {
  readonly replicationFactor: number;
  readonly shards: ReadonlyMap<bigint, ShardMetadata>;
}

export type ShardStatus = 'Unknown' | 'SteadyState' | 'Election' | 'Deleting';
export const SHARD_STATUSES: readonly ShardStatus[] = ['Unknown', 'SteadyState', 'Election', 'Deleting'];

export interface ShardMetadata {
  readonly status: ShardStatus;
  /** Incremented and persisted before every NewTerm; never decreases. */
  readonly term: bigint;
  /** Absent while the shard has no leader (before the first election completes). */
  readonly leader?: NodeAddress;
  readonly ensemble: readonly NodeAddress[];
  /**
   * Nodes being swapped out of the ensemble. They still take part in the NewTerm quorum of
   * the election that moves them out, so that no acknowledged write is lost.
   */
  readonly removedNodes: readonly NodeAddress[];
  /** Nodes already out of the ensemble whose copy of the shard still has to be deleted. */
  readonly pendingDeleteShardNodes: readonly NodeAddress[];
  readonly int32HashRange: HashRange;
  /** Set on the parent and on both children while a split runs (ADR 0025). */
  readonly split?: SplitMetadata | undefined;
}

/**
 * Oxia's phases of a shard split (common/proto/metadata.proto SplitPhase). Ours (ADR 0025):
 * Bootstrap: children recorded, parent serving; CatchUp: parent frozen, children being
 * loaded; Cutover: committed, children elected, parent deleted.
 */
export type SplitPhase = 'Bootstrap' | 'CatchUp' | 'Cutover';
export const SPLIT_PHASES: readonly SplitPhase[] = ['Bootstrap', 'CatchUp', 'Cutover'];

/** Oxia's SplitMetadata: on the parent with childShardIds, on each child with parentShardId. */
export interface SplitMetadata {
  readonly phase: SplitPhase;
  readonly parentShardId: bigint;
  /** [left, right]; on the parent only. */
  readonly childShardIds: readonly bigint[];
  /** The last hash of the left child. */
  readonly splitPoint: number;
  /** The parent's final offset once frozen (0 when not frozen yet): the children continue after it. */
  readonly snapshotOffset: bigint;
  /** The parent's term the freeze and the copies were made at (0 when not frozen yet). */
  readonly parentTermAtBootstrap: bigint;
}

/**
 * An opaque token naming one stored revision of the status, for compare-and-set writes:
 * a counter in the status file, the ConfigMap's resourceVersion in Kubernetes.
 */
export type StatusVersion = string;

export function emptyClusterStatus(): ClusterStatus {
  return { namespaces: new Map(), shardIdGenerator: 0n, serverIdx: 0 };
}

/** Every shard of every namespace, with its namespace, in namespace then shard id order. */
export function* allShards(status: ClusterStatus): Generator<{ namespace: string; shard: bigint; metadata: ShardMetadata }> {
  for (const namespace of [...status.namespaces.keys()].sort()) {
    const ns = status.namespaces.get(namespace)!;
    for (const shard of [...ns.shards.keys()].sort(compareBigInt)) {
      yield { namespace, shard, metadata: ns.shards.get(shard)! };
    }
  }
}

export function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
