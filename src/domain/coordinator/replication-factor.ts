import type { NamespaceConfig, ServerMetadata } from '../cluster/cluster-config.js';
import { allShards, type ClusterStatus } from '../cluster/cluster-status.js';
import { nodeId, type NodeAddress } from '../cluster/node-address.js';
import type { EnsembleChange } from './election.js';
import { chooseReplacement } from './ensemble-choice.js';
import { replicaCounts } from './node-load.js';
import type { ShardKey } from './status-edit.js';

/** One replica added to (`to`) or removed from (`from`) a shard whose ensemble is not its namespace's replication factor. */
export interface ResizeStep extends EnsembleChange {
  readonly key: ShardKey;
}

export interface ResizePlan {
  readonly steps: readonly ResizeStep[];
  /** Shards that cannot grow now, and why. */
  readonly blocked: readonly { readonly key: ShardKey; readonly reason: string }[];
}

/**
 * A namespace whose replication factor changed (`oxia admin namespace patch`): each shard
 * whose ensemble is smaller gains one replica, on the least loaded member its anti-affinity
 * rules allow (the same choice as every placement); each shard whose ensemble is larger
 * loses one: a node that is no longer a member first, else the member holding the most
 * replicas that does not lead the shard (no leader move for nothing).
 *
 * One step per shard per plan: the next one is planned once the shard's followers have
 * caught up with this one (as evacuations, ADR 0014). Each step is an election with the new
 * ensemble, so a replica removed keeps voting in it and no acknowledged write is lost.
 */
export function planReplicationFactorChanges(
  status: ClusterStatus,
  members: readonly NodeAddress[],
  namespaces: ReadonlyMap<string, NamespaceConfig>,
  serverMetadata: ReadonlyMap<string, ServerMetadata>,
): ResizePlan {
  const memberIds = new Set(members.map(nodeId));
  const load = replicaCounts(status);
  const steps: ResizeStep[] = [];
  const blocked: { key: ShardKey; reason: string }[] = [];
  for (const { namespace, shard, metadata } of allShards(status)) {
    if (metadata.status === 'Deleting') continue;
    const wanted = namespaces.get(namespace)?.replicationFactor;
    if (wanted === undefined || wanted < 1 || metadata.ensemble.length === wanted) continue;
    const key = { namespace, shard };
    if (metadata.ensemble.length < wanted) {
      const choice = chooseReplacement(
        { namespace, shard, candidates: members, load, antiAffinities: namespaces.get(namespace)?.antiAffinities ?? [], serverMetadata },
        metadata.ensemble,
        [...metadata.ensemble, ...metadata.removedNodes],
      );
      if (!choice.ok) {
        blocked.push({ key, reason: choice.reason });
        continue;
      }
      steps.push({ key, to: choice.node });
      load.set(nodeId(choice.node), (load.get(nodeId(choice.node)) ?? 0) + 1);
      continue;
    }
    const from = replicaToRemove(metadata.ensemble, metadata.leader, memberIds, load);
    steps.push({ key, from });
    load.set(nodeId(from), (load.get(nodeId(from)) ?? 1) - 1);
  }
  return { steps, blocked };
}

function replicaToRemove(ensemble: readonly NodeAddress[], leader: NodeAddress | undefined, memberIds: ReadonlySet<string>, load: ReadonlyMap<string, number>): NodeAddress {
  const departed = ensemble.find((n) => !memberIds.has(nodeId(n)));
  if (departed) return departed;
  const leaderId = leader ? nodeId(leader) : undefined;
  const followers = ensemble.filter((n) => nodeId(n) !== leaderId);
  const pool = followers.length > 0 ? followers : [...ensemble];
  // Most replicas first; ties to the highest id, so that the choice does not depend on ensemble order.
  return pool.sort((a, b) => (load.get(nodeId(b)) ?? 0) - (load.get(nodeId(a)) ?? 0) || (nodeId(a) < nodeId(b) ? 1 : -1))[0]!;
}
