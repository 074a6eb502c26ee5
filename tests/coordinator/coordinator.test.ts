// The Coordinator in-process, with its real adapters, against FakeStorageNodes on loopback:
// first elections, persistence before NewTerm, failover with the highest head winning, followers
// re-added when back, reconciliation after a restart, assignments pushed, conflicts.
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeStoredClusterStatus } from '../../src/domain/cluster/cluster-status-codec.js';
import { isStatusVersionConflict } from '../../src/domain/cluster/status-conflict.js';
import { nodeId } from '../../src/domain/cluster/node-address.js';
import { waitFor } from '../support/wait.js';
import { CoordinatorHarness, shardOf } from './support/coordinator-harness.js';
import { FakeStorageNode } from './support/fake-storage-node.js';

async function startNodes(count: number): Promise<FakeStorageNode[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => new FakeStorageNode(`node${i}`).start()));
}

function steady(c: { status(): import('../../src/domain/cluster/cluster-status.js').ClusterStatus }, namespace: string, count: number): boolean {
  const ns = c.status().namespaces.get(namespace);
  return !!ns && ns.shards.size === count && [...ns.shards.values()].every((s) => s.status === 'SteadyState' && s.leader !== undefined);
}

test('a fresh cluster: shards created from the config, terms persisted before NewTerm, leaders spread, assignments pushed', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(3);
  try {
    // Every NewTerm must find its term already in the status file.
    const violations: string[] = [];
    for (const n of nodes) {
      n.beforeCall = (method, req) => {
        if (method !== 'newTerm') return;
        const stored = decodeStoredClusterStatus(readFileSync(h.statusPath, 'utf8')).status;
        const s = [...stored.namespaces.values()].flatMap((ns) => [...ns.shards.entries()]).find(([id]) => id === req.shard)?.[1];
        if (!s || s.term < req.term!) violations.push(`NewTerm term ${req.term} for shard ${req.shard} before the status held it (${s?.term})`);
      };
    }
    h.writeConfig([{ name: 'default', shards: 3, rf: 3 }], nodes.map((n) => n.address));
    const c = await h.startCoordinator();
    await waitFor(() => steady(c, 'default', 3), 'three steady shards');
    assert.equal(violations, []);

    const status = c.status();
    assert.is(status.shardIdGenerator, 3n);
    const leaders = new Set([0n, 1n, 2n].map((id) => nodeId(shardOf(status, 'default', id).leader!)));
    assert.is(leaders.size, 3, 'a fresh cluster spreads its leaders');
    for (const id of [0n, 1n, 2n]) {
      const s = shardOf(status, 'default', id);
      assert.is(s.term, 0n);
      assert.is(s.ensemble.length, 3);
      const leaderNode = nodes.find((n) => n.address.internal === s.leader!.internal)!;
      assert.is(leaderNode.role(id)?.kind, 'Leader');
      assert.is(leaderNode.shards.get(id)!.followers.size, 2, 'the leader got both followers');
    }
    // What is on disk is what the coordinator holds.
    const stored = decodeStoredClusterStatus(readFileSync(h.statusPath, 'utf8'));
    assert.is(shardOf(stored.status, 'default', 1n).leader!.internal, shardOf(status, 'default', 1n).leader!.internal);

    // Every node is told every shard's leader by public address.
    await waitFor(
      () =>
        nodes.every((n) => {
          const last = n.assignments.at(-1);
          const a = last?.namespaces.default?.assignments ?? [];
          return a.length === 3 && a.every((x) => x.leader === shardOf(status, 'default', x.shard).leader!.public);
        }),
      'assignments with leaders on every node',
    );
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test('leader failure: a new election at the next term, the member with the highest head wins, the old leader rejoins when back', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(3);
  try {
    h.writeConfig([{ name: 'default', shards: 1, rf: 3 }], nodes.map((n) => n.address));
    const c = await h.startCoordinator();
    await waitFor(() => steady(c, 'default', 1), 'a steady shard');
    const first = shardOf(c.status(), 'default', 0n);
    const oldLeader = nodes.find((n) => n.address.internal === first.leader!.internal)!;
    const others = nodes.filter((n) => n !== oldLeader);
    // The followers got different amounts of the log: the longer one must win.
    others[0]!.setHead(0n, 'default', { term: 0n, offset: 41n });
    others[1]!.setHead(0n, 'default', { term: 0n, offset: 42n });

    oldLeader.stop();
    await waitFor(() => {
      const s = shardOf(c.status(), 'default', 0n);
      return s.status === 'SteadyState' && s.term >= 1n && s.leader?.internal !== oldLeader.address.internal;
    }, 'a new leader');
    const after = shardOf(c.status(), 'default', 0n);
    assert.is(after.leader!.internal, others[1]!.address.internal);
    assert.is(others[1]!.role(0n)?.kind, 'Leader');
    assert.equal(others[1]!.shards.get(0n)!.followers.get(others[0]!.address.internal), { term: 0n, offset: 41n }, 'BecomeLeader carries the follower head');
    await waitFor(() => nodes.every((n) => n === oldLeader || n.assignments.at(-1)?.namespaces.default?.assignments[0]?.leader === others[1]!.address.public), 'new leader in assignments');

    // The old leader comes back: fenced at the new term and added to the new leader.
    await oldLeader.start();
    await waitFor(() => others[1]!.shards.get(0n)!.followers.has(oldLeader.address.internal), 'old leader re-added as a follower');
    assert.is(oldLeader.role(0n)?.kind, 'Fenced');
    assert.is(oldLeader.role(0n)?.term, after.term);
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test('no quorum: elections retry until a majority is back', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(3);
  try {
    h.writeConfig([{ name: 'default', shards: 1, rf: 3 }], nodes.map((n) => n.address));
    nodes[1]!.stop();
    nodes[2]!.stop();
    const c = await h.startCoordinator();
    await waitFor(() => shardOf(c.status(), 'default', 0n).term >= 2n, 'a few failed attempts');
    assert.is(shardOf(c.status(), 'default', 0n).status, 'Election');
    await nodes[1]!.start();
    await waitFor(() => steady(c, 'default', 1), 'elected once two of three answer');
    const s = shardOf(c.status(), 'default', 0n);
    assert.ok([nodes[0]!.address.internal, nodes[1]!.address.internal].includes(s.leader!.internal));
    await nodes[2]!.start();
    const leader = nodes.find((n) => n.address.internal === s.leader!.internal)!;
    await waitFor(() => leader.shards.get(0n)!.followers.has(nodes[2]!.address.internal), 'the third member joins later');
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test('restart: a healthy cluster is left alone; a shard whose leader lost its role is re-elected', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(3);
  try {
    h.writeConfig([{ name: 'default', shards: 2, rf: 3 }], nodes.map((n) => n.address));
    const c1 = await h.startCoordinator();
    await waitFor(() => steady(c1, 'default', 2), 'steady shards');
    const before = c1.status();
    await h.stopCoordinator(c1);

    const c2 = await h.startCoordinator();
    await waitFor(() => nodes.every((n) => n.callsOf('getStatus').length > 0), 'the new coordinator asked the nodes');
    for (const id of [0n, 1n]) assert.is(shardOf(c2.status(), 'default', id).term, shardOf(before, 'default', id).term, 'no election when all agree');
    await h.stopCoordinator(c2);

    // Shard 1's leader restarted and is only fenced now: the next coordinator must notice.
    const s1 = shardOf(before, 'default', 1n);
    const leader1 = nodes.find((n) => n.address.internal === s1.leader!.internal)!;
    leader1.shards.get(1n)!.role = { kind: 'Fenced', term: s1.term };
    const c3 = await h.startCoordinator();
    await waitFor(() => shardOf(c3.status(), 'default', 1n).term === s1.term + 1n && steady(c3, 'default', 2), 'shard 1 re-elected');
    assert.is(shardOf(c3.status(), 'default', 0n).term, shardOf(before, 'default', 0n).term, 'shard 0 untouched');
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test('two coordinators started at once: one takes charge, the other fails before acting', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(3);
  try {
    h.writeConfig([{ name: 'default', shards: 2, rf: 3 }], nodes.map((n) => n.address));
    const results = await Promise.allSettled([h.startCoordinator(), h.startCoordinator()]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.is(won.length, 1);
    assert.is(lost.length, 1);
    assert.ok(isStatusVersionConflict(lost[0]!.reason), String(lost[0]!.reason));
    const c = (won[0] as PromiseFulfilledResult<Awaited<ReturnType<CoordinatorHarness['startCoordinator']>>>).value;
    await waitFor(() => steady(c, 'default', 2), 'the winner elects');
    // Each term was handed out once: every NewTerm for a shard and term came from one election.
    for (const id of [0n, 1n]) assert.is(shardOf(c.status(), 'default', id).term, 0n);
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test('another writer of the status stops a running coordinator', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(3);
  try {
    h.writeConfig([{ name: 'default', shards: 1, rf: 3 }], nodes.map((n) => n.address));
    const c1 = await h.startCoordinator();
    await waitFor(() => steady(c1, 'default', 1), 'steady');
    // Someone else writes the status behind c1's back (as a coordinator that took over would).
    const stored = JSON.parse(readFileSync(h.statusPath, 'utf8')) as { version: string };
    stored.version = String(BigInt(stored.version) + 100n);
    writeFileSync(h.statusPath, JSON.stringify(stored));
    const why = await Promise.race([c1.failure, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
    assert.ok(why && isStatusVersionConflict(why), 'the first coordinator noticed the other writer');
    // A newcomer (the next holder of the lease, in a real process) claims the status.
    const c2 = await h.startCoordinator();
    const termsBefore = nodes.map((n) => n.callsOf('newTerm').length);
    // c1 acts no more: killing the leader is handled by c2 alone.
    const leader = nodes.find((n) => n.address.internal === shardOf(c2.status(), 'default', 0n).leader?.internal)!;
    leader.stop();
    await waitFor(() => shardOf(c2.status(), 'default', 0n).term === 1n && steady(c2, 'default', 1), 'c2 re-elects');
    const after = decodeStoredClusterStatus(readFileSync(h.statusPath, 'utf8')).status;
    assert.is(shardOf(after, 'default', 0n).term, 1n);
    assert.ok(nodes.map((n) => n.callsOf('newTerm').length).reduce((a, b) => a + b) - termsBefore.reduce((a, b) => a + b) <= 3, 'one election, not two');
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test('leaders drift back to a node that returned and stayed up', async () => {
  const h = new CoordinatorHarness();
  const nodes = await startNodes(3);
  try {
    const balancer = 'loadBalancer:\n  scheduleInterval: 200ms\n  quarantineTime: 2s\n';
    h.writeConfig([{ name: 'default', shards: 3, rf: 3 }], nodes.map((n) => n.address), balancer);
    const c = await h.startCoordinator();
    await waitFor(() => steady(c, 'default', 3), 'steady');
    const ledBy = (n: FakeStorageNode) => [0n, 1n, 2n].filter((id) => shardOf(c.status(), 'default', id).leader?.internal === n.address.internal).length;
    const victim = nodes.find((n) => ledBy(n) === 1)!;
    victim.stop();
    await waitFor(() => ledBy(victim) === 0 && steady(c, 'default', 3), 'its shard failed over');
    assert.ok(nodes.some((n) => ledBy(n) === 2), 'a survivor leads two shards');
    const failedOver = [0n, 1n, 2n].map((id) => shardOf(c.status(), 'default', id).term);
    await victim.start();
    await waitFor(() => nodes.every((n) => ledBy(n) === 1), 'one leader per node again', 15_000);
    // The move was an election with a running leader: it was fenced first, and the others were
    // told that no read lease of the old term can hold (they answer without waiting for one).
    const moved = [0n, 1n, 2n].find((id) => shardOf(c.status(), 'default', id).leader?.internal === victim.address.internal)!;
    const term = shardOf(c.status(), 'default', moved).term;
    assert.ok(term > failedOver[Number(moved)]!, 'the shard was moved by an election');
    const newTerms = nodes.flatMap((n) => n.callsOf('newTerm', moved).filter((call) => call.term === term).map((call) => ({ node: n, call })));
    const first = newTerms.filter((x) => !x.call.previousLeaderFenced);
    assert.is(first.length, 1, 'one member fenced without the hint: the previous leader');
    assert.is.not(first[0]!.node, victim);
    for (const other of newTerms.filter((x) => x.call.previousLeaderFenced)) assert.ok(other.call.at >= first[0]!.call.at);
    assert.is(newTerms.length, 3);
  } finally {
    await h.close();
    nodes.forEach((n) => n.stop());
  }
});

test.run();
