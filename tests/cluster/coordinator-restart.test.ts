// The coordinator as a process, killed with -9 and restarted under load: the data path does not
// need it, and the restarted one re-reads the status and re-elects only where the nodes disagree.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { missingAcks, WriteLoad } from './support/write-load.js';

test('kill -9 of the coordinator under load: writes go on; the restarted one changes nothing that works, and fails over what broke meanwhile', async () => {
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 3, rf: 3 }] });
  try {
    const shards = await cluster.leaders();
    const termsBefore = new Map([...cluster.readStatus().namespaces.get('default')!.shards].map(([id, s]) => [id, s.term]));
    const client = cluster.nodes[0]!;
    const load = await WriteLoad.start(client.publicAddress, shards);
    try {
      await waitFor(() => load.acks.length >= 50, 'writes', 30_000);
      await cluster.coordinator.kill9();
      const killedAt = Date.now();
      await waitFor(() => shards.every((s) => load.acksOn(s.shard, killedAt).length >= 10), 'writes on every shard without a coordinator', 30_000);

      // A leader dies while there is no coordinator: its shard waits for the next one.
      const victimShard = shards.find((s) => s.leader !== client.publicAddress)!;
      const victim = cluster.nodeByPublic(victimShard.leader);
      await victim.kill9();
      const victimKilledAt = Date.now();

      await cluster.startCoordinator();
      await waitFor(() => load.acksOn(victimShard.shard, victimKilledAt).length >= 10, 'the restarted coordinator failed the shard over', 60_000);
      const status = cluster.readStatus().namespaces.get('default')!.shards;
      for (const s of shards) {
        if (s.shard === victimShard.shard) assert.ok(status.get(s.shard)!.term > termsBefore.get(s.shard)!, 'the broken shard got a new term');
        else assert.is(status.get(s.shard)!.term, termsBefore.get(s.shard), `shard ${s.shard} was left alone`);
      }
      await victim.restart();
    } finally {
      await load.stop();
    }
    assert.equal(await missingAcks(cluster, load.acks), []);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster.logs()}`);
  } finally {
    await cluster.close();
  }
});

test.run();
