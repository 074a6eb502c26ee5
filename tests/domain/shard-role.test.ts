import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkAddFollower,
  checkServesClients,
  onBecomeLeader,
  onDeleteShard,
  onNewTerm,
  onReplicate,
  onTruncate,
  type ShardRole,
  type Transition,
} from '../../src/domain/replication/shard-role.js';

const role = (t: Transition): ShardRole => {
  if (!t.ok) throw new Error(`refused: ${t.error.message}`);
  return t.role;
};
const refusal = (t: Transition) => (t.ok ? undefined : t.error.kind);

const notMember: ShardRole = { kind: 'NotMember', term: -1n };

test('NewTerm fences any role at an equal or higher term and refuses a lower one', () => {
  assert.equal(role(onNewTerm(notMember, 0n)), { kind: 'Fenced', term: 0n });
  const leader: ShardRole = { kind: 'Leader', term: 3n, replicationFactor: 3 };
  assert.equal(role(onNewTerm(leader, 4n)), { kind: 'Fenced', term: 4n });
  assert.equal(role(onNewTerm({ kind: 'Fenced', term: 4n }, 4n)), { kind: 'Fenced', term: 4n }, 'retries are idempotent');
  assert.is(refusal(onNewTerm(leader, 2n)), 'InvalidTerm');
});

test('only a replica fenced at the same term becomes leader', () => {
  const fenced = role(onNewTerm(notMember, 5n));
  assert.equal(role(onBecomeLeader(fenced, 5n, 3)), { kind: 'Leader', term: 5n, replicationFactor: 3 });
  assert.is(refusal(onBecomeLeader(fenced, 4n, 3)), 'InvalidTerm');
  assert.is(refusal(onBecomeLeader(fenced, 6n, 3)), 'InvalidTerm');
  assert.is(refusal(onBecomeLeader({ kind: 'Follower', term: 5n }, 5n, 3)), 'InvalidStatus');
  assert.is(refusal(onBecomeLeader(notMember, -1n, 3)), 'NodeIsNotMember');
  assert.is(refusal(onBecomeLeader(fenced, 5n, 0)), 'InvalidArgument');
});

test('truncate and replicate turn a fenced replica into a follower of that term', () => {
  const fenced: ShardRole = { kind: 'Fenced', term: 2n };
  assert.equal(role(onTruncate(fenced, 2n)), { kind: 'Follower', term: 2n });
  assert.is(refusal(onTruncate({ kind: 'Follower', term: 2n }, 2n)), 'InvalidStatus');
  assert.equal(role(onReplicate(fenced, 2n)), { kind: 'Follower', term: 2n });
  assert.equal(role(onReplicate({ kind: 'Follower', term: 2n }, 2n)), { kind: 'Follower', term: 2n });
  assert.is(refusal(onReplicate(fenced, 1n)), 'InvalidTerm', 'an old leader cannot replicate to a fenced replica');
  assert.is(refusal(onReplicate({ kind: 'Leader', term: 2n, replicationFactor: 1 }, 2n)), 'InvalidStatus');
});

test('add follower needs the leader of the term', () => {
  assert.is(checkAddFollower({ kind: 'Leader', term: 1n, replicationFactor: 3 }, 1n), undefined);
  assert.is(checkAddFollower({ kind: 'Leader', term: 1n, replicationFactor: 3 }, 0n)?.kind, 'InvalidTerm');
  assert.is(checkAddFollower({ kind: 'Follower', term: 1n }, 1n)?.kind, 'InvalidStatus');
});

test('a node that is not a member says so before any term check', () => {
  assert.is(refusal(onReplicate(notMember, 5n)), 'NodeIsNotMember');
  assert.is(refusal(onTruncate(notMember, 5n)), 'NodeIsNotMember');
  assert.is(refusal(onBecomeLeader(notMember, 5n, 3)), 'NodeIsNotMember');
  assert.is(checkAddFollower(notMember, 5n)?.kind, 'NodeIsNotMember');
});

test('delete shard unless the request is stale', () => {
  assert.equal(role(onDeleteShard({ kind: 'Follower', term: 3n }, 3n)), { kind: 'NotMember', term: 3n });
  assert.is(refusal(onDeleteShard({ kind: 'Follower', term: 3n }, 2n)), 'InvalidTerm');
});

test('clients are served by the leader; followers answer with a leader hint', () => {
  assert.is(checkServesClients({ kind: 'Leader', term: 1n, replicationFactor: 3 }, 7n, undefined), undefined);
  const e = checkServesClients({ kind: 'Follower', term: 1n }, 7n, 'h:6648');
  assert.is(e?.kind, 'NodeIsNotLeader');
  assert.equal(e?.leaderHint, { shard: 7n, leader: 'h:6648' });
  assert.is(checkServesClients(notMember, 7n, undefined)?.kind, 'NodeIsNotMember');
});

test.run();
