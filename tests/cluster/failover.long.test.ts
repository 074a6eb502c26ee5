// Long fault injection (npm run test:long): rounds of crashes under a continuous write load
// through the client library — a shard leader kill -9'd and restarted, sometimes together with
// the coordinator, sometimes a follower — and at the end every acknowledged write must be there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { missingAcks, WriteLoad } from './support/write-load.js';

const ROUNDS = Number(process.env.OXIA_FAILOVER_ROUNDS ?? 8);
const FAILOVER_MS_MAX = 15_000;

test(`${ROUNDS} rounds of leader, follower and coordinator crashes under load lose no acknowledged write`, async () => {
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 6, rf: 3 }] });
  try {
    // The client library learns the assignments from node-0, which is therefore never killed.
    const client = cluster.nodes[0]!;
    const others = cluster.nodes.slice(1);
    const load = await WriteLoad.start(client.publicAddress, await cluster.leaders(), 16);
    const failovers: number[] = [];
    let followerRounds = 0;
    try {
      await waitFor(() => load.acks.length >= 200, 'initial writes', 60_000);
      for (let round = 0; round < ROUNDS; round++) {
        const current = await cluster.leaders();
        // Leaders drift to the surviving nodes (nothing moves them back): when no other node leads
        // anything any more, the round kills a node that only follows.
        const target = current.find((s) => s.leader !== client.publicAddress && s.shard % 2n === BigInt(round % 2)) ?? current.find((s) => s.leader !== client.publicAddress);
        const victim = target ? cluster.nodeByPublic(target.leader) : others[round % others.length]!;
        const withCoordinator = round % 3 === 2;
        if (withCoordinator) await cluster.coordinator.kill9();
        const killedAt = Date.now();
        await victim.kill9();
        if (withCoordinator) await cluster.startCoordinator();
        if (target) {
          await waitFor(() => load.acksOn(target.shard, killedAt).length >= 20, `round ${round}: writes on shard ${target.shard} again`, 90_000, 50);
          failovers.push(load.acksOn(target.shard, killedAt)[0]!.atMs - killedAt);
        } else {
          followerRounds++;
          await waitFor(() => load.acks.filter((a) => a.atMs > killedAt).length >= 200, `round ${round}: writes with a follower down`, 90_000);
        }
        await victim.restart();
        await cluster.leaders();
      }
    } finally {
      await load.stop();
    }
    assert.ok(load.acks.length > 1_000, `${load.acks.length} acknowledged writes`);
    assert.ok(failovers.length > 0, 'at least one leader was killed');
    for (const ms of failovers) assert.ok(ms < FAILOVER_MS_MAX, `failover times (ms): ${failovers.join(', ')}`);
    assert.equal(await missingAcks(cluster, load.acks), []);
    console.log(`${ROUNDS} rounds (${followerRounds} follower-only): ${load.acks.length} acknowledged writes, failovers in ms: ${failovers.join(', ')}`);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster.logs()}`);
  } finally {
    await cluster.close();
  }
});

test.run();
