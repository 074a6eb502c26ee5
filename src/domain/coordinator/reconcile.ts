import type { ShardMetadata } from '../cluster/cluster-status.js';
import { nodeId, type NodeAddress } from '../cluster/node-address.js';
import { ServingStatus } from '../wire/replication.js';

/** What one ensemble member said to GetStatus for the shard, or why it could not say. */
export type MemberReport =
  | { readonly node: NodeAddress; readonly ok: true; readonly status: ServingStatus; readonly term: bigint }
  | { readonly node: NodeAddress; readonly ok: false; readonly error: string };

export type ShardAssessment =
  /** The stored leader leads at the stored term; `reattach` are followers to fence and add again. */
  | { readonly kind: 'steady'; readonly reattach: readonly NodeAddress[] }
  | { readonly kind: 'elect'; readonly reason: string };

/**
 * After a coordinator (re)start, whether a shard stored as SteadyState really is: the stored
 * leader must answer LEADER at the stored term, else a new election runs (it may be dead, may
 * have restarted fenced, or may have been superseded).
 *
 * Oxia also re-elects when any follower is unreachable or not following; this is gentler for
 * the same safety: a follower that is unreachable, not a member, or at an older term is fenced
 * at the stored term and added to the leader again (the path an election takes for the members it missed), so
 * one dead follower does not interrupt a healthy leader. A member at a higher term than the
 * status, or a second leader, means the status is not what the nodes run: elect.
 */
export function assessShard(shard: ShardMetadata, reports: readonly MemberReport[]): ShardAssessment {
  const leader = shard.leader;
  if (shard.status !== 'SteadyState' || !leader) return { kind: 'elect', reason: `the shard is in status ${shard.status} without a leader` };
  const byId = new Map(reports.map((r) => [nodeId(r.node), r]));
  const fromLeader = byId.get(nodeId(leader));
  if (!fromLeader) return { kind: 'elect', reason: `no report from the leader ${nodeId(leader)}` };
  if (!fromLeader.ok) return { kind: 'elect', reason: `the leader ${nodeId(leader)} did not answer: ${fromLeader.error}` };
  if (fromLeader.status !== ServingStatus.LEADER || fromLeader.term !== shard.term) {
    return {
      kind: 'elect',
      reason: `the leader ${nodeId(leader)} is ${ServingStatus[fromLeader.status] ?? fromLeader.status} at term ${fromLeader.term}, expected LEADER at term ${shard.term}`,
    };
  }
  const reattach: NodeAddress[] = [];
  for (const member of shard.ensemble) {
    if (nodeId(member) === nodeId(leader)) continue;
    const r = byId.get(nodeId(member));
    if (r?.ok && r.term > shard.term) {
      return { kind: 'elect', reason: `member ${nodeId(member)} is at term ${r.term}, beyond the stored term ${shard.term}` };
    }
    if (r?.ok && r.status === ServingStatus.LEADER) {
      return { kind: 'elect', reason: `member ${nodeId(member)} also claims to lead at term ${r.term}` };
    }
    // FENCED at the stored term is a follower the leader has not streamed to since it (or the
    // follower) restarted: the leader's own reconnection brings it along.
    const following = r?.ok && (r.status === ServingStatus.FOLLOWER || r.status === ServingStatus.FENCED) && r.term === shard.term;
    if (!following) reattach.push(member);
  }
  return { kind: 'steady', reattach };
}
