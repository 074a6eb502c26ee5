// Pure election steps: term and persistence order, fencing quorum, leader choice, completion,
// ensemble changes, restart reconciliation, health decisions, assignments.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeId } from '../../src/domain/cluster/node-address.js';
import { assignmentsFromStatus, sameAssignments } from '../../src/domain/coordinator/assignments-from-status.js';
import { backoffDelayMs, DEFAULT_RETRY_BACKOFF } from '../../src/domain/coordinator/backoff.js';
import {
  becomeLeaderRequest,
  beginElection,
  completeElection,
  decideLeader,
  fencingPlan,
  fencingProgress,
  leaseHolder,
  missedFollowers,
  newTermOptions,
  newTermRequest,
} from '../../src/domain/coordinator/election.js';
import { chooseLeader } from '../../src/domain/coordinator/leader-choice.js';
import { INITIAL_NODE_HEALTH, nodeSilent, observeHealth, type NodeHealth } from '../../src/domain/coordinator/node-health.js';
import { assessShard } from '../../src/domain/coordinator/reconcile.js';
import { KeySortingType, ServingStatus } from '../../src/domain/wire/replication.js';
import { namespaceConfig, node, nodes, statusOf, steadyShard } from './support/status-fixtures.js';

const head = (term: number, offset: number) => ({ term: BigInt(term), offset: BigInt(offset) });
const noLeaders = new Map<string, number>();

test('the leader is the member with the highest (term, offset)', () => {
  const fenced = [
    { node: node(0), head: head(2, 100) },
    { node: node(1), head: head(3, 5) },
    { node: node(2), head: head(3, 4) },
  ];
  assert.is(nodeId(chooseLeader(fenced, noLeaders, 0n)!.node), nodeId(node(1)), 'a higher term beats a longer log');
  const sameTerm = [
    { node: node(0), head: head(3, 9) },
    { node: node(1), head: head(3, 10) },
  ];
  assert.is(nodeId(chooseLeader(sameTerm, noLeaders, 0n)!.node), nodeId(node(1)));
  assert.is(chooseLeader([], noLeaders, 0n), undefined);
});

test('ties go to the node leading the fewest shards, then rotate with the shard id', () => {
  const fenced = nodes(3).map((n) => ({ node: n, head: head(1, 7) }));
  const busy = new Map([
    [nodeId(node(0)), 2],
    [nodeId(node(1)), 0],
    [nodeId(node(2)), 1],
  ]);
  assert.is(nodeId(chooseLeader(fenced, busy, 5n)!.node), nodeId(node(1)));
  const picked = new Set([0n, 1n, 2n].map((s) => nodeId(chooseLeader(fenced, noLeaders, s)!.node)));
  assert.is(picked.size, 3, 'shards elected together spread over the tied nodes');
});

test('an election starts at the next term with no leader; the ensemble keeps its order', () => {
  const before = steadyShard(nodes(3), node(1), 4n);
  const e = beginElection(before, new Map());
  assert.is(e.term, 5n);
  assert.is(e.status, 'Election');
  assert.is(e.leader, undefined);
  assert.equal(e.ensemble, before.ensemble);
  const first = beginElection(steadyShard(nodes(3), undefined, -1n), new Map());
  assert.is(first.term, 0n, 'a new shard is elected at term 0');
});

test('an election refreshes the address of a renamed node', () => {
  const a = node(0, 'a');
  const moved = { name: 'a', public: 'x:1', internal: 'x:2' };
  const e = beginElection(steadyShard([a, node(1), node(2)], a), new Map([['a', moved]]));
  assert.equal(e.ensemble[0], moved);
});

test('fencing needs a majority of ensemble plus leaving nodes', () => {
  const plan = fencingPlan(beginElection(steadyShard(nodes(3), node(0)), new Map()));
  assert.is(plan.members.length, 3);
  assert.is(plan.majority, 2);
  assert.is(fencingProgress(plan, 1, 0), 'waiting');
  assert.is(fencingProgress(plan, 2, 1), 'quorum');
  assert.is(fencingProgress(plan, 1, 2), 'failed');
  const change = beginElection(steadyShard(nodes(3), node(0)), new Map(), { from: node(2), to: node(3) });
  const changePlan = fencingPlan(change);
  assert.equal(changePlan.members.map(nodeId), [node(0), node(1), node(3), node(2)].map(nodeId));
  assert.is(changePlan.majority, 3);
});

test('deciding: the followers are the other fenced members; members that missed are retried', () => {
  const e = beginElection(steadyShard(nodes(3), node(0), 1n), new Map());
  const fenced = [
    { node: node(0), head: head(1, 10) },
    { node: node(2), head: head(1, 12) },
  ];
  const d = decideLeader(e, fenced, noLeaders, 0n);
  assert.ok(d.ok);
  if (!d.ok) return;
  assert.is(nodeId(d.leader.node), nodeId(node(2)));
  assert.equal(d.followers.map((f) => nodeId(f.node)), [nodeId(node(0))]);
  assert.equal(missedFollowers(e, d).map(nodeId), [nodeId(node(1))]);
  const req = becomeLeaderRequest({ namespace: 'default', shard: 4n }, e, d.followers);
  assert.is(req.term, 2n);
  assert.is(req.replicationFactor, 3);
  assert.equal(req.followerMaps, { [node(0).internal]: { term: 1n, offset: 10n } });
  const done = completeElection(e, d.leader.node);
  assert.is(done.status, 'SteadyState');
  assert.is(nodeId(done.leader!), nodeId(node(2)));
  assert.is(done.term, 2n);
  const short = decideLeader(e, fenced.slice(0, 1), noLeaders, 0n);
  assert.not.ok(short.ok, 'one of three is no majority');
});

test('an ensemble change keeps the leaving node in the vote but never elects it', () => {
  const e = beginElection(steadyShard(nodes(3), node(0), 1n, { pendingDeleteShardNodes: [node(3)] }), new Map(), { from: node(0), to: node(3) });
  assert.equal(e.ensemble.map(nodeId), [node(1), node(2), node(3)].map(nodeId));
  assert.equal(e.removedNodes.map(nodeId), [nodeId(node(0))]);
  assert.equal(e.pendingDeleteShardNodes, [], 'the returning node is no longer to be cleaned up');
  const fenced = [
    { node: node(0), head: head(1, 20) },
    { node: node(1), head: head(1, 20) },
    { node: node(3), head: head(-1, -1) },
  ];
  const d = decideLeader(e, fenced, noLeaders, 0n);
  assert.ok(d.ok);
  if (!d.ok) return;
  assert.is(nodeId(d.leader.node), nodeId(node(1)));
  assert.equal(d.followers.map((f) => nodeId(f.node)), [nodeId(node(3))]);
  const done = completeElection(e, d.leader.node);
  assert.equal(done.removedNodes, []);
  assert.equal(done.pendingDeleteShardNodes.map(nodeId), [nodeId(node(0))]);
});

test('an ensemble change fails when only the leaving node holds the newest entries', () => {
  const e = beginElection(steadyShard(nodes(3), node(0), 1n), new Map(), { from: node(0), to: node(3) });
  const fenced = [
    { node: node(0), head: head(1, 20) },
    { node: node(1), head: head(1, 19) },
    { node: node(3), head: head(-1, -1) },
  ];
  const d = decideLeader(e, fenced, noLeaders, 0n);
  assert.not.ok(d.ok);
  if (!d.ok) assert.match(d.reason, /leaving the ensemble/);
});

test('term options follow the namespace config', () => {
  assert.equal(newTermOptions(namespaceConfig('a', 1, 1, { keySorting: 'natural', notificationsEnabled: false })), {
    enableNotifications: false,
    keySorting: KeySortingType.NATURAL,
  });
  assert.equal(newTermOptions(namespaceConfig('a', 1, 1)), { enableNotifications: true, keySorting: KeySortingType.HIERARCHICAL });
});

test('restart reconciliation: the stored leader must lead at the stored term', () => {
  const s = steadyShard(nodes(3), node(0), 7n);
  const ok = (i: number, status: ServingStatus, term = 7n) => ({ node: node(i), ok: true as const, status, term });
  const fine = assessShard(s, [ok(0, ServingStatus.LEADER), ok(1, ServingStatus.FOLLOWER), ok(2, ServingStatus.FOLLOWER)]);
  assert.equal(fine, { kind: 'steady', reattach: [] });
  const oneDown = assessShard(s, [ok(0, ServingStatus.LEADER), ok(1, ServingStatus.FOLLOWER), { node: node(2), ok: false, error: 'refused' }]);
  assert.equal(oneDown.kind, 'steady');
  if (oneDown.kind === 'steady') assert.equal(oneDown.reattach.map(nodeId), [nodeId(node(2))]);
  assert.is(assessShard(s, [ok(0, ServingStatus.FENCED), ok(1, ServingStatus.FOLLOWER), ok(2, ServingStatus.FOLLOWER)]).kind, 'elect');
  const restarted = assessShard(s, [ok(0, ServingStatus.LEADER), ok(1, ServingStatus.FENCED), ok(2, ServingStatus.FOLLOWER, 6n)]);
  assert.equal(restarted.kind === 'steady' ? restarted.reattach.map(nodeId) : restarted, [nodeId(node(2))], 'fenced at the term is fine; an older term is re-added');
  const notMember = assessShard(s, [ok(0, ServingStatus.LEADER), ok(1, ServingStatus.NOT_MEMBER, -1n), ok(2, ServingStatus.FOLLOWER)]);
  assert.equal(notMember.kind === 'steady' ? notMember.reattach.map(nodeId) : notMember, [nodeId(node(1))]);
  assert.is(assessShard(s, [ok(0, ServingStatus.LEADER, 6n), ok(1, ServingStatus.FOLLOWER), ok(2, ServingStatus.FOLLOWER)]).kind, 'elect');
  assert.is(assessShard(s, [{ node: node(0), ok: false, error: 'refused' }]).kind, 'elect');
  assert.is(assessShard(s, [ok(0, ServingStatus.LEADER), ok(1, ServingStatus.FOLLOWER, 8n)]).kind, 'elect');
  assert.is(assessShard(steadyShard(nodes(3), undefined, -1n), []).kind, 'elect');
});

test('read leases: only the leader of a shard in SteadyState can hold one, and it is fenced first', () => {
  const steady = steadyShard(nodes(3), node(1));
  assert.is(nodeId(leaseHolder(steady)!), nodeId(node(1)));
  assert.is(leaseHolder(beginElection(steady, new Map())), undefined, 'an election in progress names no leader: every member waits');
  assert.is(leaseHolder(steadyShard(nodes(3), undefined)), undefined);
  const leaving = steadyShard([node(0), node(2), node(3)], node(1), 3n, { removedNodes: [node(1)] });
  assert.is(nodeId(leaseHolder(leaving)!), nodeId(node(1)), 'also while it is leaving the ensemble');
  const request = newTermRequest({ namespace: 'ns', shard: 1n }, 4n, newTermOptions(undefined), true);
  assert.is(request.previousLeaderFenced, true);
  assert.not.ok('previousLeaderFenced' in newTermRequest({ namespace: 'ns', shard: 1n }, 4n, newTermOptions(undefined)), 'as Oxia sends it');
});

test('health: up on SERVING, down at the failure threshold of errors, at once when unreachable after a broken watch', () => {
  let h: NodeHealth = INITIAL_NODE_HEALTH;
  const step = (o: Parameters<typeof observeHealth>[2], source: Parameters<typeof observeHealth>[3], sentMs = 0) => {
    const r = observeHealth(h, h.epoch, o, source, 3, sentMs);
    h = r.health;
    return r.event;
  };
  assert.is(step('failed', 'periodic'), undefined, 'a node never seen up is not reported down');
  assert.is(step('serving', 'periodic'), 'available');
  assert.is(step('unreachable', 'periodic'), undefined);
  assert.is(step('failed', 'periodic'), undefined);
  assert.is(step('serving', 'periodic'), undefined, 'a success resets the count');
  assert.is(step('failed', 'periodic'), undefined);
  assert.is(step('timeout', 'periodic'), undefined, 'a timeout is left to the silence rule');
  assert.is(step('failed', 'periodic'), undefined);
  const third = observeHealth(h, h.epoch, 'unreachable', 'periodic', 3, 0);
  assert.is(third.event, 'unavailable');
  assert.is(third.reason, 'failures');
  h = third.health;
  assert.is(step('serving', 'watch'), 'available');
  assert.is(step('timeout', 'watch-broken'), undefined, 'a slow probe after a broken watch proves nothing');
  assert.is(step('unreachable', 'watch-broken'), 'unavailable');
  assert.is(step('serving', 'periodic'), 'available');
  assert.is(step('not-serving', 'watch'), 'unavailable');
  const before = h;
  const stale = observeHealth(h, h.epoch - 1, 'serving', 'periodic', 3, 0);
  assert.is(stale.health, before, 'an answer from before the last change is ignored');
});

test('health: a Running node is down once a probe sent after its newest answer has waited the timeout', () => {
  const TIMEOUT = 1_000;
  let h = observeHealth(INITIAL_NODE_HEALTH, 0, 'serving', 'periodic', 3, 100).health;
  assert.is(h.state, 'Running');
  // Probes every 250 ms; the node answers them late (event-loop stalls) but answers.
  h = observeHealth(h, h.epoch, 'serving', 'periodic', 3, 600).health;
  assert.is(nodeSilent(h, 1_800, 850, TIMEOUT).event, undefined, 'the probe sent at 850 has waited 950 ms only');
  assert.is(nodeSilent(h, 5_000, undefined, TIMEOUT).event, undefined, 'nothing outstanding: the coordinator sent nothing to blame the node for');
  assert.is(nodeSilent(h, 5_000, 600, TIMEOUT).event, undefined, 'a probe as old as the newest answer is not one the node left unanswered');
  // An answer to an older probe arriving after a newer one does not move the mark back.
  h = observeHealth(h, h.epoch, 'serving', 'periodic', 3, 350).health;
  assert.is(h.answeredSentMs, 600);
  // Frozen after answering the probe sent at 600: the ones from 850 on time out.
  for (const sent of [850, 1_100, 1_350]) h = observeHealth(h, h.epoch, 'timeout', 'periodic', 3, sent).health;
  assert.is(h.state, 'Running', 'timeouts alone do not count as failures');
  assert.is(nodeSilent(h, 1_849, 850, TIMEOUT).event, undefined);
  const down = nodeSilent(h, 1_850, 850, TIMEOUT);
  assert.is(down.event, 'unavailable');
  assert.is(down.reason, 'silent');
  h = down.health;
  // The answer to a probe sent before it was declared down is stale; a new probe's answer brings it back.
  assert.is(observeHealth(h, h.epoch - 1, 'serving', 'periodic', 3, 1_350).health, h);
  assert.is(observeHealth(h, h.epoch, 'serving', 'periodic', 3, 5_000).event, 'available');
  assert.is(nodeSilent(INITIAL_NODE_HEALTH, 1e9, 0, TIMEOUT).event, undefined, 'a node never up is never silent');
});

test('assignments name leaders by public address, skip deleting shards and list authorities', () => {
  const status = statusOf({
    a: { 0: steadyShard(nodes(3), node(1)), 1: steadyShard(nodes(3), undefined, -1n) },
    b: { 2: steadyShard(nodes(3), node(2), 1n, { status: 'Deleting' }) },
  });
  const a = assignmentsFromStatus(status, [node(5)], ['http://proxy:1']);
  assert.equal(
    a.namespaces.a!.assignments.map((x) => [x.shard, x.leader]),
    [
      [0n, node(1).public],
      [1n, ''],
    ],
  );
  assert.equal(a.namespaces.b!.assignments, []);
  assert.ok(a.allowedAuthorities.includes(node(5).internal));
  assert.ok(a.allowedAuthorities.includes(node(0).public));
  assert.ok(a.allowedAuthorities.includes('proxy:1'));
  assert.ok(sameAssignments(a, assignmentsFromStatus(status, [node(5)], ['http://proxy:1'])));
  assert.not.ok(sameAssignments(a, assignmentsFromStatus(status, [], [])));
});

test('backoff grows to its cap with bounded jitter', () => {
  const p = DEFAULT_RETRY_BACKOFF;
  assert.is(backoffDelayMs(p, 0, 0.5), p.initialMs);
  assert.ok(backoffDelayMs(p, 1, 0.5) > backoffDelayMs(p, 0, 0.5));
  assert.is(backoffDelayMs(p, 100, 0.5), p.maxMs);
  assert.ok(backoffDelayMs(p, 100, 0.999) <= p.maxMs * (1 + p.jitter));
  assert.ok(backoffDelayMs(p, 100, 0) >= p.maxMs * (1 - p.jitter));
});

test.run();
