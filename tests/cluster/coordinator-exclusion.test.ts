// Only one coordinator acts (ADR 0023): of two started at once one takes the lease and the other
// stands by, so every shard gets one election, not two; and a cluster status written behind the
// back of the coordinator holding the lease (a writer outside the lease) makes it stop with exit
// code 1, handing the lease to the standby, which takes the status over.
import { readFileSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { CLAIMED, isLeaderGauge, logged, STANDING_BY } from './support/coordinators.js';

test('two coordinators started at once: one takes charge, the other stands by; one election per shard', async () => {
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 3, rf: 3 }], withoutCoordinator: true });
  try {
    const both = await Promise.all([cluster.startCoordinator(), cluster.startCoordinator()]);
    const shards = await cluster.leaders();
    await waitFor(() => both.some((c) => logged(c, STANDING_BY).length > 0), 'one stands by', 30_000);
    const gauges = await Promise.all(both.map((c) => isLeaderGauge(c)));
    assert.equal([...gauges].sort(), [0, 1]);
    const [active, standby] = gauges[0] === 1 ? both : [both[1]!, both[0]!];
    assert.is(logged(standby, CLAIMED).length, 0, 'the standby never claimed the status');
    assert.ok(both.every((c) => c.running));
    for (const s of cluster.readStatus().namespaces.get('default')!.shards.values()) assert.is(s.term, 0n, 'one election per shard, not two');
    assert.is(shards.length, 3);

    // The one in charge keeps acting alone: a leader crash is handled once.
    const victim = cluster.nodeByPublic(shards[0]!.leader);
    await victim.kill9();
    await cluster.leaders('default', [victim.publicAddress]);
    assert.is(cluster.readStatus().namespaces.get('default')!.shards.get(shards[0]!.shard)!.term, 1n);
    assert.is(logged(standby, 'starting an election').length, 0, 'the standby elected nothing');
    assert.ok(logged(active, 'starting an election').length > 0);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster.logs()}`);
  } finally {
    await cluster.close();
  }
});

test('a status written outside the lease stops the coordinator holding it (exit 1); the standby takes the lease and the status over', async () => {
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 2, rf: 3 }] });
  try {
    await cluster.leaders();
    const active = cluster.coordinator;
    const standby = await cluster.startCoordinator();
    await waitFor(() => logged(standby, STANDING_BY).length > 0, 'the second coordinator stands by', 30_000);

    // A writer that does not take part in the lease (an operator, an old version): the active
    // coordinator finds it at its next ownership check and must not go on as if nothing happened.
    const stored = JSON.parse(readFileSync(cluster.statusPath, 'utf8')) as { version: string };
    stored.version = String(BigInt(stored.version) + 100n);
    writeFileSync(cluster.statusPath, JSON.stringify(stored));
    const exit = await active.exited;
    assert.is(exit.code, 1);
    assert.ok(logged(active, 'the cluster status was written by a coordinator outside the lease: stopping').length > 0, 'it says why');
    await waitFor(() => logged(standby, CLAIMED).length > 0, 'the standby took over', 30_000);
    assert.ok(logged(standby, 'the coordinator lease is free').length > 0, 'the lease was handed back, not left to lapse');
    await cluster.leaders();
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster.logs()}`);
  } finally {
    await cluster.close();
  }
});

test.run();
