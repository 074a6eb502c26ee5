import { OxiaError } from '../errors/oxia-error.js';

/**
 * The role a storage node plays for one shard, as Oxia's replication protocol moves it:
 *
 *   NotMember --NewTerm--> Fenced --BecomeLeader--> Leader
 *                            |  \--Truncate/Replicate--> Follower
 *   any role --NewTerm(higher or equal term)--> Fenced
 *   any role --DeleteShard--> NotMember
 *
 * Fencing is what makes elections safe: once a node accepted term T it refuses every
 * request of a lower term, so an old leader can no longer reach a quorum.
 * These functions only decide; the shard controller performs the I/O they imply.
 * A node that never joined (NotMember) says so before any term check, so that callers
 * learn to fence it first rather than to fix a term.
 */
export type ShardRole =
  | { readonly kind: 'NotMember'; readonly term: bigint }
  | { readonly kind: 'Fenced'; readonly term: bigint }
  | { readonly kind: 'Follower'; readonly term: bigint }
  | { readonly kind: 'Leader'; readonly term: bigint; readonly replicationFactor: number };

export type ShardRoleKind = ShardRole['kind'];

export type Transition = { readonly ok: true; readonly role: ShardRole } | { readonly ok: false; readonly error: OxiaError };

const accept = (role: ShardRole): Transition => ({ ok: true, role });
const refuse = (error: OxiaError): Transition => ({ ok: false, error });

function staleTerm(role: ShardRole, term: bigint): OxiaError {
  return new OxiaError('InvalidTerm', `term ${term} is older than this replica's term ${role.term}`);
}

function wrongTerm(role: ShardRole, term: bigint): OxiaError {
  return new OxiaError('InvalidTerm', `term ${term} does not match this replica's term ${role.term}`);
}

function wrongStatus(role: ShardRole, action: string): OxiaError {
  if (role.kind === 'NotMember') return new OxiaError('NodeIsNotMember', `cannot ${action}: this node is not a member of the shard`);
  return new OxiaError('InvalidStatus', `cannot ${action} while ${role.kind}`);
}

/** NewTerm: fence at `term`. The same term again is allowed so a coordinator can retry. */
export function onNewTerm(role: ShardRole, term: bigint): Transition {
  if (term < role.term) return refuse(staleTerm(role, term));
  return accept({ kind: 'Fenced', term });
}

/** BecomeLeader: only a replica fenced at exactly this term may lead it. */
export function onBecomeLeader(role: ShardRole, term: bigint, replicationFactor: number): Transition {
  if (role.kind === 'NotMember') return refuse(wrongStatus(role, 'become leader'));
  if (role.term !== term) return refuse(term < role.term ? staleTerm(role, term) : wrongTerm(role, term));
  if (role.kind !== 'Fenced') return refuse(wrongStatus(role, 'become leader'));
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1) {
    return refuse(new OxiaError('InvalidArgument', `replication factor must be a positive integer, got ${replicationFactor}`));
  }
  return accept({ kind: 'Leader', term, replicationFactor });
}

/** Truncate: the new leader trims a fenced replica's divergent tail; it becomes a follower. */
export function onTruncate(role: ShardRole, term: bigint): Transition {
  if (role.kind === 'NotMember') return refuse(wrongStatus(role, 'truncate'));
  if (role.term !== term) return refuse(term < role.term ? staleTerm(role, term) : wrongTerm(role, term));
  if (role.kind !== 'Fenced') return refuse(wrongStatus(role, 'truncate'));
  return accept({ kind: 'Follower', term });
}

/** A Replicate stream (or a snapshot) from the leader of `term`. */
export function onReplicate(role: ShardRole, term: bigint): Transition {
  if (role.kind === 'NotMember') return refuse(wrongStatus(role, 'accept replication'));
  if (role.term !== term) return refuse(term < role.term ? staleTerm(role, term) : wrongTerm(role, term));
  if (role.kind !== 'Fenced' && role.kind !== 'Follower') return refuse(wrongStatus(role, 'accept replication'));
  return accept({ kind: 'Follower', term });
}

/** AddFollower: only the leader of this term takes new followers. */
export function checkAddFollower(role: ShardRole, term: bigint): OxiaError | undefined {
  if (role.kind === 'NotMember') return wrongStatus(role, 'add a follower');
  if (role.term !== term) return term < role.term ? staleTerm(role, term) : wrongTerm(role, term);
  if (role.kind !== 'Leader') return wrongStatus(role, 'add a follower');
  return undefined;
}

/** DeleteShard: a replica forgets the shard unless the request is from an older term. */
export function onDeleteShard(role: ShardRole, term: bigint): Transition {
  if (term < role.term) return refuse(staleTerm(role, term));
  return accept({ kind: 'NotMember', term });
}

/** Client reads and writes are served by the leader only; others point at it. */
export function checkServesClients(role: ShardRole, shard: bigint, leaderHint: string | undefined): OxiaError | undefined {
  switch (role.kind) {
    case 'Leader':
      return undefined;
    case 'NotMember':
      return new OxiaError('NodeIsNotMember', `this node is not a member of shard ${shard}`);
    case 'Fenced':
    case 'Follower':
      return new OxiaError(
        'NodeIsNotLeader',
        `this node is not the leader of shard ${shard}${leaderHint ? `; the leader is ${leaderHint}` : ''}`,
        leaderHint ? { shard, leader: leaderHint } : undefined,
      );
  }
}
