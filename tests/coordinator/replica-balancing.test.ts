// Replica balancing as the Coordinator runs it, with FakeStorageNodes whose log heads the test
// sets: a server added to the config takes replicas one move at a time, the next move waiting
// until the moved replica has caught up (or, if it never does, for quarantineTime).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Coordinator } from '../../src/application/coordinator/coordinator.js';
import { waitFor } from '../support/wait.js';
import { CoordinatorHarness } from './support/coordinator-harness.js';
import { FakeStorageNode } from './support/fake-storage-node.js';

const SHARDS = [0n, 1n, 2n, 3n];
const HEAD = { term: 0n, offset: 10n };

async function startNodes(count: number): Promise<FakeStorageNode[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => new FakeStorageNode(`node${i}`).start()));
}

function steady(c: Coordinator): boolean {
  const ns = c.status().namespaces.get('default');
  return !!ns && ns.shards.size === SHARDS.length && [...ns.shards.values()].every((s) => s.status === 'SteadyState' && s.leader !== undefined);
}

/** The shards whose ensemble holds `node`. */
function shardsOn(c: Coordinator, node: FakeStorageNode): bigint[] {
  const ns = c.status().namespaces.get('default')!;
  return [...ns.shards.entries()].filter(([, s]) => s.ensemble.some((n) => n.internal === node.address.internal)).map(([id]) => id);
}

function count(h: CoordinatorHarness, msg: string, reason?: string): number {
  return h.logger.records.filter((r) => r.msg === msg && (reason === undefined || r.fields.reason === reason)).length;
}

/** Three runs of the load balancer's schedule from now: long enough for a move that was going to start. */
async function threeScheduledRuns(h: CoordinatorHarness): Promise<void> {
  const runs = count(h, 'reconciling', 'scheduled');
  await waitFor(() => count(h, 'reconciling', 'scheduled') >= runs + 3, 'three scheduled runs', 10_000);
}

/** A cluster of 3 with 4 shards at RF 3 whose logs are at HEAD, then a 4th server added to the config. */
async function clusterGrowingToFour(h: CoordinatorHarness, nodes: FakeStorageNode[], quarantineTime: string): Promise<Coordinator> {
  const balancer = `loadBalancer:\n  scheduleInterval: 200ms\n  quarantineTime: ${quarantineTime}\n`;
  const namespaces = [{ name: 'default', shards: SHARDS.length, rf: 3 }];
  h.writeConfig(namespaces, nodes.slice(0, 3).map((n) => n.address), balancer);
  const c = await h.startCoordinator();
  await waitFor(() => steady(c), 'steady shards');
  for (const n of nodes.slice(0, 3)) for (const id of SHARDS) n.setHead(id, 'default', HEAD);
  await threeScheduledRuns(h);
  assert.is(count(h, 'balancing replicas: moving one'), 0, 'three servers holding every shard are balanced');
  h.writeConfig(namespaces, nodes.map((n) => n.address), balancer);
  return c;
}

test('a server added to the config takes replicas one move at a time, each after the previous one caught up', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(4);
  const added = nodes[3]!;
  try {
    const c = await clusterGrowingToFour(h, nodes, '60s');
    for (let moved = 1; moved <= 3; moved++) {
      await waitFor(() => shardsOn(c, added).length === moved && steady(c), `move ${moved}`);
      // The new replica is empty (head -1): nothing else moves until it holds the leader's head.
      await threeScheduledRuns(h);
      const held = shardsOn(c, added);
      assert.is(held.length, moved, 'no next move before the catch-up');
      assert.is(count(h, 'balancing replicas: moving one'), moved);
      for (const id of held) added.setHead(id, 'default', HEAD); // "replicated"
    }
    // 12 replicas over 4 servers: 3 each, and no further move.
    await threeScheduledRuns(h);
    assert.is(count(h, 'balancing replicas: moving one'), 3);
    for (const n of nodes) assert.is(shardsOn(c, n).length, 3, `${n.name} holds 3 replicas`);
    const moves = h.logger.records.filter((r) => r.msg === 'balancing replicas: moving one');
    assert.equal(
      moves.map((m) => [m.fields.replicasOnFrom, m.fields.replicasOnTo]),
      [
        [4, 0],
        [4, 1],
        [4, 2],
      ],
      'always from a server holding 4 to the new one',
    );
    // The replicas that moved away are deleted from the servers that gave them.
    await waitFor(() => [...c.status().namespaces.get('default')!.shards.values()].every((s) => s.pendingDeleteShardNodes.length === 0), 'old copies deleted');
    for (const n of nodes.slice(0, 3)) for (const id of SHARDS) assert.is(n.shards.has(id), shardsOn(c, n).includes(id), `${n.name} keeps shard ${id} only if it is a member`);
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test('a moved replica that never catches up holds the balancer back for quarantineTime, not for ever', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(4);
  const added = nodes[3]!;
  try {
    const c = await clusterGrowingToFour(h, nodes, '1s');
    await waitFor(() => shardsOn(c, added).length === 3 && steady(c), 'three moves although none caught up', 15_000);
    assert.ok(count(h, 'balancing replicas: a moved replica has not caught up; moving on') >= 2, 'the first two moves were given up on');
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test.run();
