import type { NamespaceConfig } from '../cluster/cluster-config.js';
import type { ShardMetadata } from '../cluster/cluster-status.js';
import { nodeId, type NodeAddress } from '../cluster/node-address.js';
import { majority } from '../replication/quorum.js';
import { compareEntryIds } from '../wal/log-entry.js';
import {
  KeySortingType,
  type AddFollowerRequest,
  type BecomeLeaderRequest,
  type EntryId as WireEntryId,
  type NewTermOptions,
  type NewTermRequest,
} from '../wire/replication.js';
import { chooseLeader, highestHeads, type FencedMember } from './leader-choice.js';
import { containsNode, unionNodes, withoutNode, type ShardKey } from './status-edit.js';

/*
 * A leader election of one shard, as Oxia's coordinator runs it, in steps that are pure data:
 *
 *   1. beginElection: the next term (+1), status Election, no leader. PERSISTED before any
 *      NewTerm, so that no term is ever used twice, even across coordinator crashes.
 *   2. fencingPlan: NewTerm to every member of the ensemble and to the nodes being removed;
 *      a majority of them must accept. A fenced node refuses the old term, so the old leader
 *      can no longer commit anything.
 *   3. decideLeader: among the fenced ensemble members, the highest head wins
 *      (leader-choice.ts); the other fenced members are its followers.
 *   4. becomeLeaderRequest: BecomeLeader to the winner with the followers' heads, so that it
 *      can truncate followers whose logs diverged.
 *   5. completeElection: status SteadyState with the leader, PERSISTED; nodes that were being
 *      removed are now only to be cleaned up (pendingDeleteShardNodes).
 *   6. the members that missed the election are retried in the background: NewTerm at the same
 *      term, then AddFollower to the leader (missedFollowers, addFollowerRequest).
 */

/**
 * One step of an ensemble: swapping one node for another (a server leaving, rebalancing),
 * or, for a change of the replication factor, only adding `to` or only removing `from`.
 */
export interface EnsembleChange {
  readonly from?: NodeAddress | undefined;
  readonly to?: NodeAddress | undefined;
}

/** Whether `change` still applies to `ensemble`: what it removes is there, what it adds is not. */
export function changeApplies(ensemble: readonly NodeAddress[], change: EnsembleChange): boolean {
  if (!change.from && !change.to) return false;
  return (!change.from || containsNode(ensemble, change.from)) && (!change.to || !containsNode(ensemble, change.to));
}

/** For logs: `{from, to}` by node id, each only when the change has it. */
export function describeChange(change: EnsembleChange): { from?: string; to?: string } {
  return { ...(change.from ? { from: nodeId(change.from) } : {}), ...(change.to ? { to: nodeId(change.to) } : {}) };
}

/**
 * Step 1. `members` are the known nodes by id: an ensemble node whose address changed (same
 * name, new address) is updated to the new address, as Oxia refreshes ensembles on elections.
 */
export function beginElection(current: ShardMetadata, members: ReadonlyMap<string, NodeAddress>, change?: EnsembleChange): ShardMetadata {
  const refreshed = current.ensemble.map((n) => members.get(nodeId(n)) ?? n);
  let ensemble = refreshed;
  let removedNodes = current.removedNodes;
  let pendingDeleteShardNodes = current.pendingDeleteShardNodes;
  if (change) {
    const { from, to } = change;
    if (!from && !to) throw new Error('bug: an ensemble change that neither adds nor removes a node');
    if (from && !containsNode(ensemble, from)) throw new Error(`bug: ${nodeId(from)} is not in the ensemble it is to leave`);
    if (to && containsNode(ensemble, to)) throw new Error(`bug: ${nodeId(to)} is already in the ensemble`);
    if (from) {
      // The leaving node keeps voting in this election: it may hold the newest entries.
      removedNodes = unionNodes(removedNodes, [ensemble.find((n) => nodeId(n) === nodeId(from))!]);
      ensemble = withoutNode(ensemble, from);
    }
    if (to) {
      // A node coming back must not be cleaned up by a leftover deletion.
      pendingDeleteShardNodes = withoutNode(pendingDeleteShardNodes, to);
      ensemble = [...ensemble, to];
    }
  }
  const { leader: _previous, ...rest } = current;
  return { ...rest, status: 'Election', term: current.term + 1n, ensemble, removedNodes, pendingDeleteShardNodes };
}

export interface FencingPlan {
  /** Every node that gets NewTerm: the ensemble, then the nodes being removed. */
  readonly members: readonly NodeAddress[];
  /** How many of them must accept. */
  readonly majority: number;
}

/** Step 2. */
export function fencingPlan(election: ShardMetadata): FencingPlan {
  const members = unionNodes(election.ensemble, election.removedNodes);
  return { members, majority: majority(members.length) };
}

/**
 * Step 2, read leases (ADR 0024): the replica that may hold a read lease when the election
 * starts, which is the leader the status names in SteadyState. A leader is persisted only
 * after its BecomeLeader, and every BecomeLeader of a later term comes after that term's
 * Election status was persisted, so no other replica can hold one. Fenced first (when it is
 * reachable), it stops serving before it answers, and the other members can be told not to
 * wait for its lease (NewTermRequest.previousLeaderFenced). Without one, or when it does not
 * answer, every member waits until a lease it vouched for has run out.
 */
export function leaseHolder(current: ShardMetadata): NodeAddress | undefined {
  if (current.status !== 'SteadyState' || !current.leader) return undefined;
  const leader = current.leader;
  return unionNodes(current.ensemble, current.removedNodes).find((n) => nodeId(n) === nodeId(leader));
}

export type FencingProgress = 'waiting' | 'quorum' | 'failed';

/** Whether enough NewTerm answers are in: a majority accepted, or so many failed that it never can. */
export function fencingProgress(plan: FencingPlan, accepted: number, failed: number): FencingProgress {
  if (accepted >= plan.majority) return 'quorum';
  if (plan.members.length - failed < plan.majority) return 'failed';
  return 'waiting';
}

export type LeaderDecision =
  | { readonly ok: true; readonly leader: FencedMember; readonly followers: readonly FencedMember[] }
  | { readonly ok: false; readonly reason: string };

/**
 * Step 3. `fenced` are the nodes that accepted the new term (ensemble members and nodes being
 * removed). Nodes being removed never lead or follow, but their heads still matter: if one of
 * them holds a newer entry than every remaining member, electing a member could drop an
 * acknowledged write, so the attempt fails and is retried (more members may answer then).
 */
export function decideLeader(election: ShardMetadata, fenced: readonly FencedMember[], leadersPerNode: ReadonlyMap<string, number>, shard: bigint): LeaderDecision {
  const plan = fencingPlan(election);
  if (fenced.length < plan.majority) {
    return { ok: false, reason: `only ${fenced.length} of ${plan.members.length} nodes accepted term ${election.term}, ${plan.majority} are needed` };
  }
  const candidates = fenced.filter((m) => containsNode(election.ensemble, m.node));
  const leaving = fenced.filter((m) => !containsNode(election.ensemble, m.node));
  const leader = chooseLeader(candidates, leadersPerNode, shard);
  if (!leader) return { ok: false, reason: `no member of the new ensemble accepted term ${election.term}` };
  const newestLeaving = highestHeads(leaving)[0];
  if (newestLeaving && compareEntryIds(newestLeaving.head, leader.head) > 0) {
    return {
      ok: false,
      reason: `node ${nodeId(newestLeaving.node)}, which is leaving the ensemble, holds newer entries than every remaining member`,
    };
  }
  const followers = candidates.filter((m) => nodeId(m.node) !== nodeId(leader.node));
  return { ok: true, leader, followers };
}

/** Step 5: the shard led by `leader` at the election's term. */
export function completeElection(election: ShardMetadata, leader: NodeAddress): ShardMetadata {
  return {
    ...election,
    status: 'SteadyState',
    leader,
    pendingDeleteShardNodes: unionNodes(election.pendingDeleteShardNodes, election.removedNodes),
    removedNodes: [],
  };
}

/** Step 6: ensemble members that are neither the leader nor one of the followers it was given. */
export function missedFollowers(election: ShardMetadata, decision: { readonly leader: FencedMember; readonly followers: readonly FencedMember[] }): NodeAddress[] {
  const served = new Set([decision.leader, ...decision.followers].map((m) => nodeId(m.node)));
  return election.ensemble.filter((n) => !served.has(nodeId(n)));
}

/** Notifications and key order of the shard's namespace, which the node's database needs. */
export function newTermOptions(namespace: Pick<NamespaceConfig, 'notificationsEnabled' | 'keySorting'> | undefined): NewTermOptions {
  if (!namespace) return { enableNotifications: true, keySorting: KeySortingType.UNKNOWN };
  return {
    enableNotifications: namespace.notificationsEnabled,
    keySorting: namespace.keySorting === 'natural' ? KeySortingType.NATURAL : KeySortingType.HIERARCHICAL,
  };
}

export function newTermRequest(key: ShardKey, term: bigint, options: NewTermOptions, previousLeaderFenced?: true): NewTermRequest {
  return previousLeaderFenced ? { namespace: key.namespace, shard: key.shard, term, options, previousLeaderFenced } : { namespace: key.namespace, shard: key.shard, term, options };
}

/** Step 4. Followers are named by internal address, with the head each answered to NewTerm. */
export function becomeLeaderRequest(key: ShardKey, election: ShardMetadata, followers: readonly FencedMember[]): BecomeLeaderRequest {
  const followerMaps: Record<string, WireEntryId> = {};
  for (const f of followers) followerMaps[f.node.internal] = { term: f.head.term, offset: f.head.offset };
  return {
    namespace: key.namespace,
    shard: key.shard,
    term: election.term,
    replicationFactor: election.ensemble.length,
    followerMaps,
    featuresSupported: [],
  };
}

/** Step 6: attach a follower fenced late, with the head it answered. */
export function addFollowerRequest(key: ShardKey, term: bigint, follower: FencedMember): AddFollowerRequest {
  return {
    namespace: key.namespace,
    shard: key.shard,
    term,
    followerName: follower.node.internal,
    followerHeadEntryId: { term: follower.head.term, offset: follower.head.offset },
    observer: false,
  };
}
