// The web console's view model (ADR 0028): pure functions from the cluster status, the
// monitored nodes and the replicas' GetStatus answers, and the bounded journal.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ClusterJournal, JOURNAL_CAPACITY } from '../../src/application/console/cluster-journal.js';
import { clusterView, partitionKeyInRange, prefixEnd, type ClusterFacts, type ReplicaReport } from '../../src/application/console/console-view.js';
import type { ClusterStatus, ShardMetadata } from '../../src/domain/cluster/cluster-status.js';
import type { NodeAddress } from '../../src/domain/cluster/node-address.js';
import { routingHash } from '../../src/domain/sharding/hash.js';
import { splitHashRange } from '../../src/domain/sharding/hash-range.js';

const S = suite('application: console view');

const node = (i: number): NodeAddress => ({ name: `node-${i}`, public: `127.0.0.1:${7000 + i}`, internal: `127.0.0.1:${8000 + i}` });
const [n0, n1, n2, n3] = [node(0), node(1), node(2), node(3)];
const ranges = splitHashRange(2);

function shard(leader: NodeAddress | undefined, ensemble: NodeAddress[], i: number, term = 3n): ShardMetadata {
  return {
    status: leader ? 'SteadyState' : 'Election',
    term,
    ...(leader ? { leader } : {}),
    ensemble,
    removedNodes: [],
    pendingDeleteShardNodes: [],
    int32HashRange: ranges[i]!,
  };
}

const status: ClusterStatus = {
  namespaces: new Map([
    [
      'default',
      {
        replicationFactor: 3,
        shards: new Map([
          [0n, shard(n0, [n0, n1, n3], 0)],
          [1n, shard(undefined, [n1, n2, n0], 1)],
        ]),
      },
    ],
  ]),
  shardIdGenerator: 2n,
  serverIdx: 0,
};

const ok = (role: 'leader' | 'follower', head: bigint, commit: bigint): ReplicaReport => ({ ok: true, role, term: 3n, headOffset: head, commitOffset: commit });

function facts(over: Partial<ClusterFacts> = {}): ClusterFacts {
  return {
    nowMs: 1_000,
    coordinator: 'coord-a',
    healthCheck: { intervalMs: 200, failureThreshold: 3 },
    status,
    // node-3 left the cluster but still holds a replica of shard 0 (draining).
    members: [n0, n1, n2],
    nodes: [
      { node: n0, state: 'Running', upSinceMs: 500 },
      { node: n1, state: 'Running', upSinceMs: 600 },
      { node: n2, state: 'NotRunning', upSinceMs: undefined },
      { node: n3, state: 'Running', upSinceMs: 700 },
    ],
    replicas: new Map([
      [
        'default/0',
        new Map<string, ReplicaReport>([
          ['node-0', ok('leader', 10n, 9n)],
          ['node-1', ok('follower', 7n, 7n)],
          ['node-3', { ok: false, error: 'no answer within 1000 ms' }],
        ]),
      ],
    ]),
    sessions: new Map([['default/0', 2]]),
    events: [],
    balancer: { scheduleIntervalMs: 30_000, quarantineTimeMs: 300_000, replicaMove: undefined, movingLeader: false, quarantined: [], splitsRunning: 0 },
    ...over,
  };
}

S('servers: members first with health, up since, replicas and leaderships; a draining holder after them', () => {
  const v = clusterView(facts());
  assert.equal(
    v.servers.map((s) => [s.name, s.health, s.upSinceMs, s.replicas, s.leaderships, s.member]),
    [
      ['node-0', 'up', 500, 2, 1, true],
      ['node-1', 'up', 600, 2, 0, true],
      ['node-2', 'down', undefined, 1, 0, true],
      ['node-3', 'up', 700, 1, 0, false],
    ],
  );
  assert.is(v.servers[0]!.publicAddress, '127.0.0.1:7000');
});

S('shards: range, leader, ensemble, term, status, sessions; each replica with head, commit and lag behind the leader', () => {
  const [s0, s1] = clusterView(facts()).namespaces[0]!.shards;
  assert.is(s0!.range, '0x00000000–0x7fffffff');
  assert.is(s0!.leader, 'node-0');
  assert.equal(s0!.ensemble, ['node-0', 'node-1', 'node-3']);
  assert.is(s0!.term, '3');
  assert.is(s0!.sessions, 2);
  assert.equal(
    s0!.replicas.map((r) => [r.node, r.role, r.headOffset, r.commitOffset, r.lag]),
    [
      ['node-0', 'leader', '10', '9', '0'],
      ['node-1', 'follower', '7', '7', '3'],
      ['node-3', 'unreachable', undefined, undefined, undefined],
    ],
  );
  assert.is(s0!.replicas[2]!.error, 'no answer within 1000 ms');
  // No leader yet, no answers: nothing made up.
  assert.is(s1!.leader, undefined);
  assert.is(s1!.status, 'Election');
  assert.is(s1!.sessions, undefined);
  assert.ok(s1!.replicas.every((r) => r.role === 'unknown' && r.lag === undefined));
});

S('partitionKeyInRange: the key found routes into the range; prefixEnd bounds the prefix', () => {
  for (const r of splitHashRange(7)) {
    const key = partitionKeyInRange(r);
    assert.ok(key !== undefined);
    const h = routingHash(key!);
    assert.ok(h >= r.min && h <= r.max, `${key} -> ${h} not in ${r.min}..${r.max}`);
  }
  assert.is(partitionKeyInRange({ min: 5, max: 5 }, 100), undefined);
  assert.ok('/a/b' < prefixEnd('/a/'));
  assert.ok(prefixEnd('/a/') < '/b');
});

S('journal: newest first, bounded, listeners told of each entry', () => {
  const journal = new ClusterJournal();
  let told = 0;
  const stop = journal.watch(() => told++);
  for (let i = 0; i < JOURNAL_CAPACITY + 5; i++) journal.record({ atMs: i, kind: 'election', summary: `e${i}`, reason: 'r' });
  stop();
  journal.record({ atMs: -1, kind: 'server-down', summary: 'x', reason: 'r' });
  assert.is(told, JOURNAL_CAPACITY + 5);
  const recent = journal.recent();
  assert.is(recent.length, JOURNAL_CAPACITY);
  assert.is(recent[0]!.summary, 'x');
  assert.is(recent[1]!.summary, `e${JOURNAL_CAPACITY + 4}`);
  assert.equal(journal.recent(2).map((e) => e.summary), ['x', `e${JOURNAL_CAPACITY + 4}`]);
});

S.run();
