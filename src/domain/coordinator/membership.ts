import type { NamespaceConfig, ServerMetadata } from '../cluster/cluster-config.js';
import { allShards, type ClusterStatus } from '../cluster/cluster-status.js';
import { nodeId, sameNodeAddress, type NodeAddress } from '../cluster/node-address.js';
import { chooseReplacement } from './ensemble-choice.js';
import type { EnsembleChange } from './election.js';
import { replicaCounts } from './node-load.js';
import type { ShardKey } from './status-edit.js';

/** A swap of one replica for another (evacuations, balancing): both ends are known. */
export interface PlannedMove extends EnsembleChange {
  readonly key: ShardKey;
  readonly from: NodeAddress;
  readonly to: NodeAddress;
}

export interface EvacuationPlan {
  readonly moves: readonly PlannedMove[];
  /** Shards that keep a replica on a departed node for now, and why. */
  readonly blocked: readonly { readonly key: ShardKey; readonly reason: string }[];
}

/**
 * Moving replicas off nodes that are no longer members (removed from the config, or gone
 * from discovery), as Oxia's balancer cleans up deleted nodes: for each shard with such a
 * node in its ensemble, one replica moves to the least loaded member that the shard's
 * anti-affinity rules allow. The move happens through an election with a new ensemble
 * (election.ts), so the departing node's data is carried over by replication, not copied.
 *
 * One move per shard per plan (the next one after this one is done); each planned move
 * counts in the load of later choices. A shard with a single replica cannot move this way
 * without losing its only copy, so it is reported blocked, as Oxia skips it.
 */
export function planEvacuations(
  status: ClusterStatus,
  members: readonly NodeAddress[],
  namespaces: ReadonlyMap<string, NamespaceConfig>,
  serverMetadata: ReadonlyMap<string, ServerMetadata>,
): EvacuationPlan {
  const memberIds = new Set(members.map(nodeId));
  const load = replicaCounts(status);
  const moves: PlannedMove[] = [];
  const blocked: { key: ShardKey; reason: string }[] = [];
  for (const { namespace, shard, metadata } of allShards(status)) {
    if (metadata.status === 'Deleting') continue;
    const from = metadata.ensemble.find((n) => !memberIds.has(nodeId(n)));
    if (!from) continue;
    const key = { namespace, shard };
    if (metadata.ensemble.length <= 1) {
      blocked.push({ key, reason: `its only replica is on departed node ${nodeId(from)}; a single replica cannot be moved without downtime or loss` });
      continue;
    }
    const keep = metadata.ensemble.filter((n) => nodeId(n) !== nodeId(from));
    const choice = chooseReplacement(
      {
        namespace,
        shard,
        candidates: members,
        load,
        antiAffinities: namespaces.get(namespace)?.antiAffinities ?? [],
        serverMetadata,
      },
      keep,
      [...metadata.ensemble, ...metadata.removedNodes],
    );
    if (!choice.ok) {
      blocked.push({ key, reason: choice.reason });
      continue;
    }
    moves.push({ key, from, to: choice.node });
    load.set(nodeId(from), (load.get(nodeId(from)) ?? 1) - 1);
    load.set(nodeId(choice.node), (load.get(nodeId(choice.node)) ?? 0) + 1);
  }
  return { moves, blocked };
}

/**
 * Shards whose ensemble names a member by its stable name with an outdated address (a pod
 * rescheduled with a new IP, a node restarted on another port): an election refreshes the
 * ensemble from the members (Oxia's SyncServerAddress).
 */
export function shardsWithMovedNodes(status: ClusterStatus, members: readonly NodeAddress[]): ShardKey[] {
  const byId = new Map(members.map((m) => [nodeId(m), m]));
  const out: ShardKey[] = [];
  for (const { namespace, shard, metadata } of allShards(status)) {
    if (metadata.status === 'Deleting') continue;
    const moved = metadata.ensemble.some((n) => {
      const now = byId.get(nodeId(n));
      return now !== undefined && !sameNodeAddress(now, n);
    });
    if (moved) out.push({ namespace, shard });
  }
  return out;
}
