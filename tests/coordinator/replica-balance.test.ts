// Pure replica balancing decisions: which replica moves so that a server added to the cluster
// takes its share of the existing shards, and when nothing may move.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { NamespaceConfig, ServerMetadata } from '../../src/domain/cluster/cluster-config.js';
import type { ClusterStatus, ShardMetadata } from '../../src/domain/cluster/cluster-status.js';
import { nodeId, type NodeAddress } from '../../src/domain/cluster/node-address.js';
import { replicaCounts } from '../../src/domain/coordinator/node-load.js';
import { bestReplicaMove, type ReplicaBalanceInput, type ReplicaMove } from '../../src/domain/coordinator/replica-balance.js';
import { findShard, withShard, withoutNode } from '../../src/domain/coordinator/status-edit.js';
import { namespaceConfig, node, nodes, statusOf, steadyShard } from './support/status-fixtures.js';

const everyone = (): boolean => true;

function input(status: ClusterStatus, members: readonly NodeAddress[], over: Partial<ReplicaBalanceInput> = {}): ReplicaBalanceInput {
  const namespaces = new Map<string, NamespaceConfig>();
  for (const [name, ns] of status.namespaces) namespaces.set(name, namespaceConfig(name, ns.shards.size, ns.replicationFactor));
  return { status, members, available: everyone, skipped: new Set(), namespaces, serverMetadata: new Map(), ...over };
}

/** `count` shards of `rf` replicas, placed round robin over `holders`, each led by its first replica. */
function spread(count: number, rf: number, holders: readonly NodeAddress[]): ClusterStatus {
  const shards: Record<number, ShardMetadata> = {};
  for (let i = 0; i < count; i++) {
    const ensemble = Array.from({ length: rf }, (_, r) => holders[(i + r) % holders.length]!);
    shards[i] = steadyShard(ensemble, ensemble[0]);
  }
  return statusOf({ default: shards }, rf);
}

function moveOf(status: ClusterStatus, i: ReplicaBalanceInput): ReplicaMove {
  const r = bestReplicaMove({ ...i, status });
  if (r.kind !== 'move') throw new Error(`expected a move, got none: ${r.reason}`);
  return r.move;
}

/** The status after the move's election: `to` replaces `from`, the term goes up. */
function applied(status: ClusterStatus, move: ReplicaMove): ClusterStatus {
  const s = findShard(status, move.key)!;
  return withShard(status, move.key, { ...s, term: s.term + 1n, ensemble: [...withoutNode(s.ensemble, move.from), move.to] });
}

function countsOf(status: ClusterStatus, members: readonly NodeAddress[]): number[] {
  const c = replicaCounts(status);
  return members.map((m) => c.get(nodeId(m)) ?? 0);
}

/** Applies moves until none is left (bounded); returns how many were made. */
function balance(status: ClusterStatus, i: ReplicaBalanceInput, maxMoves = 1_000): { status: ClusterStatus; moves: number } {
  let s = status;
  for (let moves = 0; moves <= maxMoves; moves++) {
    const r = bestReplicaMove({ ...i, status: s });
    if (r.kind === 'none') return { status: s, moves };
    assert.ok(r.move.fromReplicas - r.move.toReplicas >= 2, 'every move narrows a gap of two or more');
    s = applied(s, r.move);
  }
  throw new Error('the moves did not end');
}

test('a server added to the cluster takes replicas from the most loaded one, until counts differ by at most one', () => {
  const old = nodes(3);
  const members = nodes(4);
  const status = spread(4, 3, old); // 4 replicas on each of n0..n2, none on n3
  const first = moveOf(status, input(status, members));
  assert.equal(first.key, { namespace: 'default', shard: 0n });
  assert.is(nodeId(first.from), nodeId(node(0)), 'ties between givers go to the first node id');
  assert.is(nodeId(first.to), nodeId(node(3)));
  assert.equal([first.fromReplicas, first.toReplicas], [4, 0]);

  const done = balance(status, input(status, members));
  assert.is(done.moves, 3);
  assert.equal(countsOf(done.status, members), [3, 3, 3, 3]);
  for (const s of done.status.namespaces.get('default')!.shards.values()) assert.is(new Set(s.ensemble.map(nodeId)).size, 3, 'no node twice in an ensemble');
});

test('repeated moves end and leave every member within one replica of the others', () => {
  for (const [count, rf, before, after] of [
    [7, 2, 3, 5],
    [12, 3, 3, 7],
    [9, 3, 4, 6],
    [5, 2, 2, 4],
  ] as const) {
    const status = spread(count, rf, nodes(before));
    const members = nodes(after);
    const done = balance(status, input(status, members));
    const counts = countsOf(done.status, members);
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `${count} shards rf ${rf}, ${before} -> ${after} nodes: ${counts.join(',')}`);
    assert.is(counts.reduce((a, b) => a + b), count * rf, 'no replica lost or added');
  }
});

test('a gap of one replica is balanced', () => {
  const status = spread(5, 3, nodes(4)); // 15 replicas on 4 nodes: 4, 4, 4, 3
  assert.equal(bestReplicaMove(input(status, nodes(4))), { kind: 'none', reason: 'balanced' });
});

test('the taker is the emptiest node outside the ensemble', () => {
  const [a, b, c, d, e] = nodes(5) as [NodeAddress, NodeAddress, NodeAddress, NodeAddress, NodeAddress];
  // a holds 4, d holds 2 (shards 4 and 5), e holds none: e takes first, although d also qualifies.
  const status = statusOf(
    {
      default: {
        0: steadyShard([a, b], a),
        1: steadyShard([a, c], a),
        2: steadyShard([a, b], b),
        3: steadyShard([a, c], c),
        4: steadyShard([d, b], d),
        5: steadyShard([d, c], d),
      },
    },
    2,
  );
  const move = moveOf(status, input(status, [a, b, c, d, e]));
  assert.is(nodeId(move.from), nodeId(a));
  assert.is(nodeId(move.to), nodeId(e));
  // Without e, d (2 replicas) is still two below a (4).
  const withoutE = moveOf(status, input(status, [a, b, c, d]));
  assert.is(nodeId(withoutE.to), nodeId(d));
});

test('only available nodes give or take replicas, and only shards whose whole ensemble is available move', () => {
  const members = nodes(4);
  const status = spread(4, 3, nodes(3));
  const n3 = nodeId(node(3));
  assert.is(bestReplicaMove(input(status, members, { available: (id) => id !== n3 })).kind, 'none', 'the new node is not up yet');

  // RF 2 over 3 nodes (n0 and n1 hold 3 each, n2 holds 2), n3 new; n0 is down.
  const rf2 = statusOf(
    {
      default: {
        0: steadyShard([node(0), node(1)], node(0)),
        1: steadyShard([node(0), node(1)], node(0)),
        2: steadyShard([node(0), node(2)], node(0)),
        3: steadyShard([node(1), node(2)], node(1)),
      },
    },
    2,
  );
  const n0 = nodeId(node(0));
  const move = moveOf(rf2, input(rf2, members, { available: (id) => id !== n0 }));
  assert.equal(move.key, { namespace: 'default', shard: 3n }, 'the only shard without the down node');
  assert.is(nodeId(move.from), nodeId(node(1)));
});

test('shards skipped, electing, or of a single replica do not move', () => {
  const members = nodes(4);
  const status = spread(4, 3, nodes(3));
  const skipped = new Set(['default/0', 'default/1']);
  assert.equal(moveOf(status, input(status, members, { skipped })).key, { namespace: 'default', shard: 2n });
  const allSkipped = new Set(['default/0', 'default/1', 'default/2', 'default/3']);
  const r = bestReplicaMove(input(status, members, { skipped: allSkipped }));
  assert.is(r.kind, 'none');
  assert.match(r.kind === 'none' ? r.reason : '', /no shard .* can move/);

  const electing = withShard(status, { namespace: 'default', shard: 0n }, { ...findShard(status, { namespace: 'default', shard: 0n })!, status: 'Election' });
  assert.equal(moveOf(electing, input(electing, members)).key, { namespace: 'default', shard: 1n });

  const single = spread(6, 1, nodes(2)); // 3 and 3 on n0, n1; n2 and n3 empty
  assert.is(bestReplicaMove(input(single, members)).kind, 'none', 'a lone replica has no copy to serve while it moves');
});

test('nothing moves while the cluster is still forming or replicas must leave departed nodes', () => {
  const members = nodes(4);
  const status = spread(4, 3, nodes(3));
  const namespaces = new Map([
    ['default', namespaceConfig('default', 4, 3)],
    ['later', namespaceConfig('later', 2, 3)],
  ]);
  assert.match(reasonOf(bestReplicaMove(input(status, members, { namespaces }))), /namespace later has no shards yet/);

  const unelected = spread(4, 3, nodes(3));
  const fresh = [0n, 1n].reduce((s, id) => {
    const { leader: _l, ...rest } = findShard(s, { namespace: 'default', shard: id })!;
    return withShard(s, { namespace: 'default', shard: id }, { ...rest, status: 'Unknown', term: -1n });
  }, unelected);
  assert.match(reasonOf(bestReplicaMove(input(fresh, members))), /still forming: 2 of 4 shards have a leader/);

  // n2 left the config: its replicas move first (planEvacuations), balancing waits.
  const departed = [node(0), node(1), node(3), node(4)];
  assert.match(reasonOf(bestReplicaMove(input(status, departed))), /departed nodes move first/);
});

test('strict anti-affinity holds; a relaxed rule the giver meets is kept', () => {
  const members = nodes(4);
  const status = spread(4, 3, nodes(3));
  const zones = (z3: string | undefined): Map<string, ServerMetadata> =>
    new Map([
      [nodeId(node(0)), { labels: { zone: 'a' } }],
      [nodeId(node(1)), { labels: { zone: 'b' } }],
      [nodeId(node(2)), { labels: { zone: 'c' } }],
      [nodeId(node(3)), { labels: z3 === undefined ? {} : { zone: z3 } }],
    ]);
  for (const mode of ['strict', 'relaxed'] as const) {
    const namespaces = new Map([['default', namespaceConfig('default', 4, 3, { antiAffinities: [{ labels: ['zone'], mode }] })]]);
    // n3 in zone a may take n0's place (zone a): the spread over a, b, c stays.
    const same = moveOf(status, input(status, members, { namespaces, serverMetadata: zones('a') }));
    assert.is(nodeId(same.from), nodeId(node(0)));
    assert.is(nodeId(same.to), nodeId(node(3)));
    // n3 in zone b only fits in place of n1.
    const b = moveOf(status, input(status, members, { namespaces, serverMetadata: zones('b') }));
    assert.is(nodeId(b.from), nodeId(node(1)), `${mode}: only n1's replica can go to a second zone-b node`);
    // n3 without a zone cannot be told apart from the others: it takes nothing.
    assert.is(bestReplicaMove(input(status, members, { namespaces, serverMetadata: zones(undefined) })).kind, 'none', mode);
  }
  // A relaxed rule the shard did not meet anyway does not hold a move back.
  const twoZones = new Map([
    [nodeId(node(0)), { labels: { zone: 'a' } }],
    [nodeId(node(1)), { labels: { zone: 'a' } }],
    [nodeId(node(2)), { labels: { zone: 'b' } }],
    [nodeId(node(3)), { labels: { zone: 'b' } }],
  ]);
  const relaxed = new Map([['default', namespaceConfig('default', 4, 3, { antiAffinities: [{ labels: ['zone'], mode: 'relaxed' }] })]]);
  const m = moveOf(status, input(status, members, { namespaces: relaxed, serverMetadata: twoZones }));
  assert.is(nodeId(m.to), nodeId(node(3)));
});

test('a node whose copy of the shard is still being deleted does not take it back', () => {
  const members = nodes(4);
  const base = spread(4, 3, nodes(3));
  const status = [0n, 1n, 2n, 3n].reduce((s, id) => {
    const k = { namespace: 'default', shard: id };
    return id === 3n ? s : withShard(s, k, { ...findShard(s, k)!, pendingDeleteShardNodes: [node(3)] });
  }, base);
  assert.equal(moveOf(status, input(status, members)).key, { namespace: 'default', shard: 3n });
});

function reasonOf(r: ReturnType<typeof bestReplicaMove>): string {
  return r.kind === 'none' ? r.reason : `a move of ${r.move.key.shard}`;
}

test.run();
