// Real processes, real crashes: kill -9 the leader of a shard, then a follower, under a write
// load through the client library. A new leader must serve within seconds, the client must
// carry on by itself, and every acknowledged write must be there afterwards.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcStorageNodeClient } from '../../src/adapters/coordination-client/grpc-storage-node-client.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { ServingStatus } from '../../src/domain/wire/replication.js';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { missingAcks, WriteLoad } from './support/write-load.js';

/** "Within seconds", with room for a loaded 2-core machine running tests two at a time. */
const FAILOVER_MS_MAX = 10_000;

let cluster: TestCluster;

test.before(async () => {
  cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 3, rf: 3 }] });
});

test.after(async () => {
  await cluster?.close();
});

test('kill -9 of a shard leader under load: a new leader within seconds, no acknowledged write lost', async () => {
  const shards = await cluster.leaders();
  // The client talks to a node that survives; the victim leads another shard.
  const survivor = cluster.nodes[0]!;
  const victimShard = shards.find((s) => s.leader !== survivor.publicAddress)!;
  const victim = cluster.nodeByPublic(victimShard.leader);
  const load = await WriteLoad.start(survivor.publicAddress, shards);
  try {
    await waitFor(() => load.acksOn(victimShard.shard).length >= 30, 'writes on the victim shard before the crash', 30_000);
    const killedAt = Date.now();
    await victim.kill9();
    await waitFor(() => load.acksOn(victimShard.shard, killedAt).length >= 30, 'writes on the shard after the crash', 60_000);
    const firstAfter = load.acksOn(victimShard.shard, killedAt)[0]!.atMs;
    assert.ok(firstAfter - killedAt < FAILOVER_MS_MAX, `the shard took writes again after ${firstAfter - killedAt} ms`);
  } finally {
    await load.stop();
  }
  const status = cluster.readStatus().namespaces.get('default')!.shards.get(victimShard.shard)!;
  assert.ok(status.term >= 1n, 'a new term');
  assert.is.not(status.leader!.public, victim.publicAddress);
  assert.equal(await missingAcks(cluster, load.acks), [], 'every acknowledged write is readable');

  // The crashed node comes back, is added as a follower again and catches up.
  await victim.restart();
  const leaders = await cluster.leaders();
  const leaderOfShard = cluster.nodeByPublic(leaders.find((s) => s.shard === victimShard.shard)!.leader);
  const probe = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  try {
    await waitFor(
      async () => {
        const [l, f] = await Promise.all([
          probe.getStatus({ public: '', internal: leaderOfShard.internalAddress }, { shard: victimShard.shard }),
          probe.getStatus({ public: '', internal: victim.internalAddress }, { shard: victimShard.shard }),
        ]);
        return l.status === ServingStatus.LEADER && f.term === l.term && f.headOffset === l.headOffset;
      },
      'the restarted node caught up with the new leader',
      30_000,
    );
  } finally {
    await probe.close();
  }
});

test('kill -9 of a follower under load: its shard keeps its leader and takes writes throughout', async () => {
  const shards = await cluster.leaders();
  const status = cluster.readStatus().namespaces.get('default')!;
  // A shard, and a member of its ensemble that does not lead it (nor is the client's node).
  const client = cluster.nodes[0]!;
  let pick: { shard: bigint; follower: string } | undefined;
  for (const s of shards) {
    const follower = status.shards.get(s.shard)!.ensemble.find((n) => n.public !== s.leader && n.public !== client.publicAddress);
    if (s.leader === client.publicAddress && follower) pick = { shard: s.shard, follower: follower.public };
  }
  assert.ok(pick, 'a shard led by the client node with another follower');
  const { shard, follower } = pick!;
  const termBefore = status.shards.get(shard)!.term;
  const load = await WriteLoad.start(client.publicAddress, shards, 8, '/follower-load');
  try {
    await waitFor(() => load.acksOn(shard).length >= 30, 'writes before', 30_000);
    const killedAt = Date.now();
    await cluster.nodeByPublic(follower).kill9();
    await waitFor(() => load.acksOn(shard, killedAt).length >= 100, 'writes on the shard with one follower down', 60_000);
    // With two of three members up, the shard never stopped: no gap longer than a few seconds.
    const times = load.acksOn(shard, killedAt - 1_000).map((a) => a.atMs);
    const gapMs = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    assert.ok(gapMs < FAILOVER_MS_MAX, `largest gap between acknowledged writes: ${gapMs} ms`);
  } finally {
    await load.stop();
  }
  const after = cluster.readStatus().namespaces.get('default')!.shards.get(shard)!;
  assert.is(after.term, termBefore, 'no election for a follower');
  assert.is(after.leader!.public, client.publicAddress);
  assert.equal(await missingAcks(cluster, load.acks), []);
  await cluster.nodeByPublic(follower).restart();
  await cluster.leaders();
});

test.run();
