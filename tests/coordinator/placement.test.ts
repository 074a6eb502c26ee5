// Pure placement decisions: ensembles that spread load and honour anti-affinity, shard
// creation from shardIdGenerator, moving replicas off departed nodes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nodeId } from '../../src/domain/cluster/node-address.js';
import { emptyClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { encodeStoredClusterStatus } from '../../src/domain/cluster/cluster-status-codec.js';
import { chooseEnsemble, chooseReplacement, type PlacementContext } from '../../src/domain/coordinator/ensemble-choice.js';
import { bestLeaderMove } from '../../src/domain/coordinator/leader-balance.js';
import { planEvacuations, shardsWithMovedNodes } from '../../src/domain/coordinator/membership.js';
import { replicaCounts } from '../../src/domain/coordinator/node-load.js';
import { createNamespaceShards } from '../../src/domain/coordinator/shard-creation.js';
import { splitHashRange } from '../../src/domain/sharding/hash-range.js';
import { namespaceConfig, node, nodes, statusOf, steadyShard } from './support/status-fixtures.js';

const ctx = (over: Partial<PlacementContext> = {}): PlacementContext => ({
  namespace: 'default',
  shard: 0n,
  candidates: nodes(3),
  load: new Map(),
  antiAffinities: [],
  serverMetadata: new Map(),
  ...over,
});

test('an ensemble takes the least loaded nodes', () => {
  const load = new Map([
    [nodeId(node(0)), 5],
    [nodeId(node(1)), 1],
    [nodeId(node(2)), 0],
    [nodeId(node(3)), 2],
  ]);
  const r = chooseEnsemble(ctx({ candidates: nodes(4), load }), 3);
  assert.ok(r.ok);
  if (r.ok) assert.equal(r.ensemble.map(nodeId).sort(), [node(1), node(2), node(3)].map(nodeId).sort());
});

test('an ensemble never repeats a node and fails when there are too few', () => {
  const r = chooseEnsemble(ctx({ candidates: [node(0), node(1), node(0)] }), 3);
  assert.not.ok(r.ok);
  if (!r.ok) assert.match(r.reason, /needs 3 servers but only 2/);
  const ok = chooseEnsemble(ctx(), 3);
  assert.ok(ok.ok);
  if (ok.ok) assert.is(new Set(ok.ensemble.map(nodeId)).size, 3);
});

test('ties rotate with the shard id, so equal nodes share new shards', () => {
  const first = new Set<string>();
  for (let s = 0n; s < 3n; s++) {
    const r = chooseEnsemble(ctx({ shard: s }), 1);
    assert.ok(r.ok);
    if (r.ok) first.add(nodeId(r.ensemble[0]!));
  }
  assert.is(first.size, 3);
});

test('strict anti-affinity keeps replicas apart and fails when it cannot', () => {
  const serverMetadata = new Map([
    [nodeId(node(0)), { labels: { zone: 'a' } }],
    [nodeId(node(1)), { labels: { zone: 'a' } }],
    [nodeId(node(2)), { labels: { zone: 'b' } }],
    [nodeId(node(3)), { labels: { zone: 'c' } }],
  ]);
  const rules = [{ labels: ['zone'], mode: 'strict' as const }];
  const r = chooseEnsemble(ctx({ candidates: nodes(4), serverMetadata, antiAffinities: rules }), 3);
  assert.ok(r.ok);
  if (r.ok) {
    const zones = r.ensemble.map((n) => serverMetadata.get(nodeId(n))!.labels.zone);
    assert.is(new Set(zones).size, 3);
  }
  const tooMany = chooseEnsemble(ctx({ candidates: nodes(4), serverMetadata, antiAffinities: rules }), 4);
  assert.not.ok(tooMany.ok);
  if (!tooMany.ok) assert.match(tooMany.reason, /strict anti-affinity/);
  const relaxed = chooseEnsemble(ctx({ candidates: nodes(4), serverMetadata, antiAffinities: [{ labels: ['zone'], mode: 'relaxed' }] }), 4);
  assert.ok(relaxed.ok, 'a relaxed rule is only a preference');
});

test('a replacement avoids the kept replicas and the excluded nodes', () => {
  const r = chooseReplacement(ctx({ candidates: nodes(5) }), [node(0), node(1)], [node(2)]);
  assert.ok(r.ok);
  if (r.ok) assert.ok([nodeId(node(3)), nodeId(node(4))].includes(nodeId(r.node)));
  const none = chooseReplacement(ctx({ candidates: nodes(3) }), [node(0), node(1)], [node(2)]);
  assert.not.ok(none.ok);
});

test('namespace creation takes ids from shardIdGenerator, splits the hash space and spreads replicas', () => {
  const base = { ...emptyClusterStatus(), shardIdGenerator: 7n };
  const r = createNamespaceShards(base, namespaceConfig('orders', 4, 2), nodes(4), new Map());
  assert.ok(r.ok);
  if (!r.ok) return;
  assert.equal(r.shards.map((k) => k.shard), [7n, 8n, 9n, 10n]);
  assert.is(r.status.shardIdGenerator, 11n);
  const ns = r.status.namespaces.get('orders')!;
  assert.is(ns.replicationFactor, 2);
  assert.equal([...ns.shards.values()].map((s) => s.int32HashRange), splitHashRange(4));
  for (const s of ns.shards.values()) {
    assert.is(s.term, -1n);
    assert.is(s.status, 'Unknown');
    assert.is(s.leader, undefined);
    assert.is(s.ensemble.length, 2);
  }
  // 4 shards x 2 replicas over 4 nodes: 2 each.
  assert.equal([...replicaCounts(r.status).values()], [2, 2, 2, 2]);
  // And the result is a status the store would write.
  encodeStoredClusterStatus(r.status, '0');
});

test('a second namespace continues the ids and evens out the load', () => {
  const first = createNamespaceShards(emptyClusterStatus(), namespaceConfig('a', 1, 2), nodes(3), new Map());
  assert.ok(first.ok);
  if (!first.ok) return;
  const second = createNamespaceShards(first.status, namespaceConfig('b', 2, 2), nodes(3), new Map());
  assert.ok(second.ok);
  if (!second.ok) return;
  assert.equal(second.shards.map((k) => k.shard), [1n, 2n]);
  const counts = [...replicaCounts(second.status).values()].sort();
  assert.equal(counts, [2, 2, 2]);
});

test('namespace creation is all or nothing', () => {
  const r = createNamespaceShards(emptyClusterStatus(), namespaceConfig('big', 3, 3), nodes(2), new Map());
  assert.not.ok(r.ok);
  const again = createNamespaceShards(statusOf({ x: { 0: steadyShard(nodes(3), node(0)) } }), namespaceConfig('x', 1, 1), nodes(3), new Map());
  assert.not.ok(again.ok, 'an existing namespace is not created twice');
});

test('replicas on departed nodes move to the least loaded members, one move per shard', () => {
  const status = statusOf({
    default: {
      0: steadyShard([node(0), node(1), node(2)], node(0)),
      1: steadyShard([node(1), node(2), node(0)], node(1)),
      2: steadyShard([node(0), node(1), node(3)], node(0)),
    },
  });
  const members = [node(0), node(1), node(3), node(4)];
  const plan = planEvacuations(status, members, new Map([['default', namespaceConfig('default', 3, 3)]]), new Map());
  assert.equal(plan.blocked, []);
  assert.equal(plan.moves.map((m) => m.key.shard), [0n, 1n]);
  for (const m of plan.moves) assert.is(nodeId(m.from), nodeId(node(2)));
  // node 4 holds nothing, node 3 one replica: the first move goes to node 4; then both hold one.
  assert.is(nodeId(plan.moves[0]!.to), nodeId(node(4)));
  assert.ok([nodeId(node(3)), nodeId(node(4))].includes(nodeId(plan.moves[1]!.to)));
});

test('a single-replica shard on a departed node is reported, not moved', () => {
  const status = statusOf({ default: { 0: steadyShard([node(2)], node(2)) } }, 1);
  const plan = planEvacuations(status, [node(0), node(1)], new Map(), new Map());
  assert.equal(plan.moves, []);
  assert.is(plan.blocked.length, 1);
});

test('a named node with a new address marks its shards for an election', () => {
  const a = node(0, 'a');
  const status = statusOf({ default: { 0: steadyShard([a, node(1), node(2)], a), 1: steadyShard([node(1), node(2), node(3)], node(1)) } });
  const moved = { name: 'a', public: 'elsewhere:1', internal: 'elsewhere:2' };
  assert.equal(shardsWithMovedNodes(status, [moved, node(1), node(2), node(3)]), [{ namespace: 'default', shard: 0n }]);
  assert.equal(shardsWithMovedNodes(status, [a, node(1), node(2), node(3)]), []);
});

test('leader balancing moves a leadership only when it narrows the gap by two or more', () => {
  const all = () => true;
  const ens = [node(0), node(1), node(2)];
  const piled = statusOf({ default: { 0: steadyShard(ens, node(0)), 1: steadyShard(ens, node(0)), 2: steadyShard(ens, node(1)) } });
  assert.equal(bestLeaderMove(piled, all, new Set()), { namespace: 'default', shard: 0n }, '2 vs 0: move one');
  const even = statusOf({ default: { 0: steadyShard(ens, node(0)), 1: steadyShard(ens, node(1)), 2: steadyShard(ens, node(2)) } });
  assert.is(bestLeaderMove(even, all, new Set()), undefined);
  const mild = statusOf({ default: { 0: steadyShard(ens, node(0)), 1: steadyShard(ens, node(0)), 2: steadyShard(ens, node(1)), 3: steadyShard(ens, node(2)) } });
  assert.is(bestLeaderMove(mild, all, new Set()), undefined, '2 vs 1 is not worth an election');
  assert.is(bestLeaderMove(piled, (id) => id !== nodeId(node(2)), new Set()), undefined, 'a node not yet stable takes no leaders');
  assert.equal(bestLeaderMove(piled, all, new Set(['default/0'])), { namespace: 'default', shard: 1n }, 'quarantined shards are skipped');
  const forming = statusOf({ default: { 0: steadyShard(ens, node(0)), 1: steadyShard(ens, node(0)), 2: steadyShard(ens, undefined, -1n), 3: steadyShard(ens, undefined, -1n) } });
  assert.is(bestLeaderMove(forming, all, new Set()), undefined, 'not while the cluster is still electing');
});

test.run();
