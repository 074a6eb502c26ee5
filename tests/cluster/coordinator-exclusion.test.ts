// Only one coordinator acts: two started at once, or one started while another runs. The status
// store's compare-and-set decides, and a running coordinator's heartbeat writes keep a newcomer
// from taking over; the loser exits non-zero and never overwrites the status.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';

test('two coordinators started at once: one takes charge, the other exits non-zero and never elects', async () => {
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 3, rf: 3 }], withoutCoordinator: true });
  try {
    // Launched together; which one claims the status first depends on their start-up times. If
    // both claim in turn, the earlier one notices at its next status check and stops.
    const launches = await Promise.allSettled([cluster.startCoordinator(), cluster.startCoordinator()]);
    const launched = launches.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    for (const r of launches) if (r.status === 'rejected') assert.match(String(r.reason), /code 1\b/);
    await waitFor(() => launched.filter((c) => c.running).length === 1, 'exactly one coordinator left running', 30_000);
    const loser = launches.length - launched.length === 1 ? undefined : launched.find((c) => !c.running);
    if (loser) {
      assert.is((await loser.exited).code, 1);
      assert.ok(loser.lines().some((l) => l.includes('another coordinator')), 'the loser says why');
    }

    const shards = await cluster.leaders();
    const status = cluster.readStatus().namespaces.get('default')!;
    for (const s of status.shards.values()) assert.is(s.term, 0n, 'one election per shard, not two');
    assert.is(shards.length, 3);

    // The one in charge keeps acting alone: a leader crash is handled once.
    const victim = cluster.nodeByPublic(shards[0]!.leader);
    await victim.kill9();
    await cluster.leaders('default', [victim.publicAddress]);
    const after = cluster.readStatus().namespaces.get('default')!.shards.get(shards[0]!.shard)!;
    assert.is(after.term, 1n);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster.logs()}`);
  } finally {
    await cluster.close();
  }
});

test('a coordinator started while another runs gives up (exit 1); the running one stays in charge', async () => {
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 2, rf: 3 }] });
  try {
    await cluster.leaders();
    const first = cluster.coordinator;
    // The newcomer watches the status for longer than two heartbeats, sees it move, and leaves.
    const second = await cluster.startCoordinator().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.match(String(second), /code 1\b/, 'the second coordinator exited with code 1 before serving');
    assert.ok(first.running, 'the first coordinator still runs');
    // And it still acts: a killed leader is replaced.
    const shards = await cluster.leaders();
    const victim = cluster.nodeByPublic(shards[0]!.leader);
    await victim.kill9();
    await cluster.leaders('default', [victim.publicAddress]);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster.logs()}`);
  } finally {
    await cluster.close();
  }
});

test.run();
