// Dynamic membership through config edits, with the real Coordinator and FakeStorageNodes:
// namespaces added and removed at runtime, servers added and removed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { nodeId } from '../../src/domain/cluster/node-address.js';
import { waitFor } from '../support/wait.js';
import { CoordinatorHarness, shardOf } from './support/coordinator-harness.js';
import { FakeStorageNode } from './support/fake-storage-node.js';

async function startNodes(count: number): Promise<FakeStorageNode[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => new FakeStorageNode(`node${i}`).start()));
}

function steady(status: ClusterStatus, namespace: string, count: number): boolean {
  const ns = status.namespaces.get(namespace);
  return !!ns && ns.shards.size === count && [...ns.shards.values()].every((s) => s.status === 'SteadyState' && s.leader !== undefined);
}

test('a namespace added to the config gets the next shard ids and its elections; a removed one is deleted', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(3);
  try {
    h.writeConfig([{ name: 'default', shards: 2, rf: 3 }], nodes.map((n) => n.address));
    const c = await h.startCoordinator();
    await waitFor(() => steady(c.status(), 'default', 2), 'default namespace');

    h.writeConfig(
      [
        { name: 'default', shards: 2, rf: 3 },
        { name: 'orders', shards: 3, rf: 2 },
      ],
      nodes.map((n) => n.address),
    );
    await waitFor(() => steady(c.status(), 'orders', 3), 'the new namespace elected');
    const orders = c.status().namespaces.get('orders')!;
    assert.equal([...orders.shards.keys()], [2n, 3n, 4n]);
    assert.is(orders.replicationFactor, 2);
    for (const s of orders.shards.values()) assert.is(s.ensemble.length, 2);
    await waitFor(() => nodes.every((n) => (n.assignments.at(-1)?.namespaces.orders?.assignments.length ?? 0) === 3), 'assignments of the new namespace');

    h.writeConfig([{ name: 'default', shards: 2, rf: 3 }], nodes.map((n) => n.address));
    await waitFor(() => !c.status().namespaces.has('orders'), 'the removed namespace is gone from the status');
    for (const id of [2n, 3n, 4n]) {
      for (const n of nodes) assert.is(n.shards.has(id), false, `shard ${id} deleted on ${n.name}`);
    }
    await waitFor(() => nodes.every((n) => n.assignments.at(-1)?.namespaces.orders === undefined), 'assignments without it');
    assert.ok(steady(c.status(), 'default', 2));
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test('a server removed from the config: its replicas move to the others through elections, then its copies are deleted', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(4);
  try {
    h.writeConfig([{ name: 'default', shards: 4, rf: 3 }], nodes.map((n) => n.address));
    const c = await h.startCoordinator();
    await waitFor(() => steady(c.status(), 'default', 4), 'steady shards');
    const leaving = nodes[0]!;
    const held = [...c.status().namespaces.get('default')!.shards.entries()].filter(([, s]) => s.ensemble.some((n) => n.internal === leaving.address.internal));
    assert.ok(held.length >= 2, 'the leaving node holds replicas');
    // The leaving node holds the newest entries of one shard: they must survive the move.
    const [keptId] = held[0]!;
    leaving.setHead(keptId, 'default', { term: 0n, offset: 10n });
    for (const n of nodes.slice(1)) if (n.shards.has(keptId)) n.setHead(keptId, 'default', { term: 0n, offset: 10n });

    // The fake nodes do not replicate: play the leader's part and bring new members up to date,
    // so that the shard counts as caught up and the removed node's copy may be deleted.
    const replicate = setInterval(() => {
      for (const n of nodes.slice(1)) if (n.shards.has(keptId)) n.setHead(keptId, 'default', { term: 0n, offset: 10n });
    }, 20);
    h.writeConfig([{ name: 'default', shards: 4, rf: 3 }], nodes.slice(1).map((n) => n.address));
    await waitFor(() => {
      const st = c.status();
      return (
        steady(st, 'default', 4) &&
        [...st.namespaces.get('default')!.shards.values()].every(
          (s) => s.ensemble.length === 3 && !s.ensemble.some((n) => n.internal === leaving.address.internal) && s.removedNodes.length === 0 && s.pendingDeleteShardNodes.length === 0,
        )
      );
    }, 'every replica moved off the removed server and cleaned up', 20_000).finally(() => clearInterval(replicate));
    for (const [id] of held) {
      const s = shardOf(c.status(), 'default', id);
      assert.ok(s.term >= 1n, 'the move was an election');
      assert.is(new Set(s.ensemble.map(nodeId)).size, 3);
      assert.is(leaving.shards.has(id), false, `the removed server's copy of shard ${id} is deleted`);
    }
    const kept = shardOf(c.status(), 'default', keptId);
    const leader = nodes.find((n) => n.address.internal === kept.leader!.internal)!;
    assert.equal(leader.shards.get(keptId)!.head, { term: 0n, offset: 10n }, 'the new leader holds the newest entries');
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test('a server added to the config is used for new shards', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(4);
  try {
    h.writeConfig([{ name: 'default', shards: 1, rf: 3 }], nodes.slice(0, 3).map((n) => n.address));
    const c = await h.startCoordinator();
    await waitFor(() => steady(c.status(), 'default', 1), 'steady');
    h.writeConfig(
      [
        { name: 'default', shards: 1, rf: 3 },
        { name: 'more', shards: 1, rf: 1 },
      ],
      nodes.map((n) => n.address),
    );
    await waitFor(() => steady(c.status(), 'more', 1), 'new namespace');
    const s = shardOf(c.status(), 'more', 1n);
    assert.is(s.ensemble[0]!.internal, nodes[3]!.address.internal, 'the empty new server takes the new shard');
    await waitFor(() => (nodes[3]!.assignments.at(-1)?.namespaces.more?.assignments.length ?? 0) === 1, 'the new server gets assignments');
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test('a named server that comes back on a new address: its shards are re-elected with that address', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(3);
  try {
    h.writeConfig([{ name: 'default', shards: 2, rf: 3 }], nodes.map((n) => n.namedAddress));
    const c = await h.startCoordinator();
    await waitFor(() => steady(c.status(), 'default', 2), 'steady');
    const terms = [0n, 1n].map((id) => shardOf(c.status(), 'default', id).term);
    const moved = nodes[1]!;
    await moved.restartOnNewPort();
    h.writeConfig([{ name: 'default', shards: 2, rf: 3 }], nodes.map((n) => n.namedAddress));
    await waitFor(
      () => [0n, 1n].every((id) => shardOf(c.status(), 'default', id).ensemble.some((n) => n.name === moved.name && n.internal === moved.address.internal) && steady(c.status(), 'default', 2)),
      'ensembles carry the new address',
    );
    for (const [i, id] of [0n, 1n].entries()) {
      const s = shardOf(c.status(), 'default', id);
      assert.ok(s.term > terms[i]!, 'by an election');
      if (s.leader!.name === moved.name) assert.is(s.leader!.public, moved.address.public);
    }
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test.run();
