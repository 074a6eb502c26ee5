import type { AntiAffinity, NamespaceConfig, ServerMetadata } from '../cluster/cluster-config.js';
import { allShards, type ClusterStatus, type ShardMetadata } from '../cluster/cluster-status.js';
import { nodeId, type NodeAddress } from '../cluster/node-address.js';
import { chooseReplacement } from './ensemble-choice.js';
import { ELECTED_SHARE_MIN } from './leader-balance.js';
import { planEvacuations, type PlannedMove } from './membership.js';
import { countsTowardsLoad, replicaCounts } from './node-load.js';
import { containsNode, shardLabel, withoutNode } from './status-edit.js';

/**
 * A replica move must narrow the gap between the node giving it and the node taking it by at
 * least this many replicas: then every move strictly lowers the sum of squared replica counts,
 * so repeated moves end, and a one-replica difference (unavoidable when replicas do not divide
 * evenly) never costs an election and a copy. As Oxia's balancer: balanced means max - min <= 1.
 */
export const REPLICA_GAP_MIN = 2;

export interface ReplicaBalanceInput {
  readonly status: ClusterStatus;
  /** The member nodes (the config's servers, or the discovered ones). */
  readonly members: readonly NodeAddress[];
  /** Whether a node (by id) is up and stably so: only such nodes give or take replicas. */
  readonly available: (nodeId: string) => boolean;
  /** Shard labels not to move now: quarantined after a failed move, or busy with an earlier change. */
  readonly skipped: ReadonlySet<string>;
  /** The config's namespaces by name (replication factor, anti-affinity rules). */
  readonly namespaces: ReadonlyMap<string, NamespaceConfig>;
  /** Labels by node id, for the anti-affinity rules. */
  readonly serverMetadata: ReadonlyMap<string, ServerMetadata>;
}

/** One replica to move (the same shape as an evacuation), with the counts it was chosen on. */
export interface ReplicaMove extends PlannedMove {
  /** Replicas held by `from` and by `to` before the move. */
  readonly fromReplicas: number;
  readonly toReplicas: number;
}

export type ReplicaBalance = { readonly kind: 'move'; readonly move: ReplicaMove } | { readonly kind: 'none'; readonly reason: string };

/**
 * The one replica move that best evens out the number of replicas per node, so that a server
 * added to the cluster takes its share of the existing shards (as Oxia's balancer does; new
 * shards alone would leave it nearly empty):
 *
 * - the giver is the available member holding the most replicas (the next one if none of its
 *   shards can move), the taker the least loaded available member outside the shard's
 *   ensemble that its anti-affinity rules allow (ensemble-choice.ts), and only when the gap
 *   between them is at least REPLICA_GAP_MIN;
 * - only shards in SteadyState whose whole ensemble is available move: the move is an election
 *   in which the new member starts empty, and during its catch-up the others must make the
 *   quorum; a shard of a single replica (replication factor 1) never moves, as there is no
 *   other copy to serve it meanwhile (Oxia skips those too);
 * - a relaxed anti-affinity rule that the giver meets is kept as a strict one: balancing is
 *   optional, and it must not trade a spread over zones for an even count;
 * - nothing moves while the cluster is still forming (a configured namespace without shards,
 *   or fewer than ELECTED_SHARE_MIN of the shards with a leader), nor while replicas on
 *   departed nodes still have to move (planEvacuations goes first).
 *
 * Among the giver's shards, the one whose taker holds the fewest replicas wins; ties go to the
 * first shard in namespace and id order, so the choice is deterministic.
 */
export function bestReplicaMove(input: ReplicaBalanceInput): ReplicaBalance {
  const { status, members, available, namespaces, serverMetadata } = input;
  for (const name of namespaces.keys()) {
    if (!status.namespaces.has(name)) return none(`the cluster is still forming: namespace ${name} has no shards yet`);
  }
  let total = 0;
  let elected = 0;
  for (const { metadata } of allShards(status)) {
    if (!countsTowardsLoad(metadata)) continue;
    total++;
    if (metadata.leader) elected++;
  }
  if (total === 0) return none('there are no shards');
  if (elected / total < ELECTED_SHARE_MIN) return none(`the cluster is still forming: ${elected} of ${total} shards have a leader`);
  if (planEvacuations(status, members, namespaces, serverMetadata).moves.length > 0) {
    return none('replicas on departed nodes move first');
  }

  const load = replicaCounts(status);
  const loadOf = (n: NodeAddress): number => load.get(nodeId(n)) ?? 0;
  const pool = distinctAvailable(members, available);
  if (pool.length < 2) return none('fewer than two available members');
  const lowest = Math.min(...pool.map(loadOf));
  const givers = [...pool].sort((a, b) => loadOf(b) - loadOf(a) || compareIds(nodeId(a), nodeId(b)));
  if (loadOf(givers[0]!) - lowest < REPLICA_GAP_MIN) return none('balanced');
  for (const giver of givers) {
    if (loadOf(giver) - lowest < REPLICA_GAP_MIN) break;
    const move = bestMoveFrom(giver, input, pool, load, lowest);
    if (move) return { kind: 'move', move };
  }
  return none('uneven, but no shard of the most loaded nodes can move now (quarantined, busy, degraded, single-replica or held by anti-affinity)');
}

function bestMoveFrom(
  giver: NodeAddress,
  input: ReplicaBalanceInput,
  pool: readonly NodeAddress[],
  load: ReadonlyMap<string, number>,
  lowest: number,
): ReplicaMove | undefined {
  const loadOf = (n: NodeAddress): number => load.get(nodeId(n)) ?? 0;
  const giverLoad = loadOf(giver);
  let best: ReplicaMove | undefined;
  for (const { namespace, shard, metadata } of allShards(input.status)) {
    const from = metadata.ensemble.find((n) => nodeId(n) === nodeId(giver));
    if (!from) continue;
    const key = { namespace, shard };
    const config = input.namespaces.get(namespace);
    if (!config || !movable(metadata, config, input) || input.skipped.has(shardLabel(key))) continue;
    const candidates = pool.filter(
      (n) => !containsNode(metadata.ensemble, n) && !containsNode(metadata.pendingDeleteShardNodes, n) && giverLoad - loadOf(n) >= REPLICA_GAP_MIN,
    );
    if (candidates.length === 0) continue;
    const keep = withoutNode(metadata.ensemble, from);
    const choice = chooseReplacement(
      {
        namespace,
        shard,
        candidates,
        load,
        antiAffinities: rulesKeptBy(from, keep, config.antiAffinities, key, input.serverMetadata),
        serverMetadata: input.serverMetadata,
      },
      keep,
      [...metadata.ensemble, ...metadata.removedNodes, ...metadata.pendingDeleteShardNodes],
    );
    if (!choice.ok) continue;
    const toReplicas = loadOf(choice.node);
    if (!best || toReplicas < best.toReplicas) best = { key, from, to: choice.node, fromReplicas: giverLoad, toReplicas };
    if (toReplicas === lowest) break; // no taker can be emptier
  }
  return best;
}

/** Whether the shard may have a replica moved by the balancer at all (see bestReplicaMove). */
function movable(metadata: ShardMetadata, config: NamespaceConfig, input: ReplicaBalanceInput): boolean {
  if (metadata.status !== 'SteadyState' || !metadata.leader || metadata.removedNodes.length > 0) return false;
  if (config.replicationFactor <= 1 || metadata.ensemble.length <= 1) return false;
  return metadata.ensemble.every((n) => input.available(nodeId(n)));
}

/**
 * The shard's anti-affinity rules for choosing the node that takes `from`'s place: a relaxed
 * rule that `from` meets (its labels differ from the kept replicas') becomes strict, so the
 * taker must meet it too. Whether `from` meets it is asked of the ensemble choice itself.
 */
function rulesKeptBy(
  from: NodeAddress,
  keep: readonly NodeAddress[],
  rules: readonly AntiAffinity[],
  key: { readonly namespace: string; readonly shard: bigint },
  serverMetadata: ReadonlyMap<string, ServerMetadata>,
): AntiAffinity[] {
  return rules.map((rule) => {
    if (rule.mode !== 'relaxed') return rule;
    const strict: AntiAffinity = { ...rule, mode: 'strict' };
    const met = chooseReplacement({ ...key, candidates: [from], load: new Map(), antiAffinities: [strict], serverMetadata }, keep, []).ok;
    return met ? strict : rule;
  });
}

function distinctAvailable(members: readonly NodeAddress[], available: (nodeId: string) => boolean): NodeAddress[] {
  const seen = new Set<string>();
  return members.filter((n) => {
    const id = nodeId(n);
    if (seen.has(id) || !available(id)) return false;
    seen.add(id);
    return true;
  });
}

function none(reason: string): ReplicaBalance {
  return { kind: 'none', reason };
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
