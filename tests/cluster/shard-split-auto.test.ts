// Automatic split (ADR 0025, Oxia's `autoSplit` cluster config) on a real 3-node cluster (RF 3)
// with a real coordinator: writes push the only shard over a 1 MiB size threshold, as its
// leader reports it in GetStatus; the coordinator splits it on its own, under continuous writes
// and reads; no acknowledged write is lost, every key is readable and in exactly one child, and
// one split is started.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OxiaClient } from '../../src/adapters/client/index.js';
import { CoordinationClient } from '../replication/support/cluster.js';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { keysInExactlyOneShard, shardsOf, SplitLoad, waitSplitDone } from './support/split-check.js';

const S = suite('cluster: automatic shard split');
const AUTO_SPLIT = 'autoSplit:\n  enabled: true\n  maxShardSizeMb: 1\n  stabilizationPeriod: 0s\n  cooldownPeriod: 1h\n  maxShardsPerNamespace: 2\n  collectionInterval: 300ms\n';
const MIB = 1024n * 1024n;

S('writes push a shard over the size threshold: the coordinator splits it, nothing acknowledged is lost', async () => {
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 1, rf: 3 }], configExtra: AUTO_SPLIT });
  try {
    await waitSplitDone(cluster, 1);
    const parent = shardsOf(cluster.readStatus())[0]!;
    const leader = new CoordinationClient(parent.metadata.leader!.internal);
    try {
      const before = (await leader.getStatus(parent.shard)).shardStats!.dbSizeBytes;
      assert.ok(before < MIB, `the new shard is under the threshold (${before} bytes)`);
    } finally {
      leader.close();
    }

    const load = await SplitLoad.start(cluster.nodes[1]!.publicAddress, 2, 1);
    const client = await OxiaClient.connect(cluster.nodes[0]!.publicAddress, { requestTimeoutMs: 120_000 });
    const written = new Map<string, string>();
    const filler = 'x'.repeat(1_000);
    try {
      // About 3 MB of values: over 1 MiB whatever the store's overhead.
      for (let i = 0; i < 3_000 && shardsOf(cluster.readStatus()).length === 1; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) => {
            const key = `/big/${String(i + j).padStart(5, '0')}`;
            const value = `${key}:${filler}`;
            return client.put(key, value).then(() => written.set(key, value));
          }),
        );
      }
    } finally {
      await client.close();
    }
    await waitFor(() => cluster.coordinator.lines().some((l) => l.includes('auto split: started')), 'the coordinator starting a split', 120_000, 100);
    await waitSplitDone(cluster, 2);
    const ackedAtSplit = load.acked.size;
    await waitFor(() => load.acked.size >= ackedAtSplit + 100, 'writes going on against the children', 60_000, 50);
    await load.stop();

    const shards = shardsOf(cluster.readStatus());
    assert.ok(shards.every((s) => s.shard > parent.shard), 'the parent is gone, two children serve');
    assert.equal(load.wrongReads, [], 'every read saw the acknowledged value');
    assert.equal(load.failures, [], 'writes were only retried, never failed');
    assert.equal(await keysInExactlyOneShard(cluster, new Map([...written, ...load.acked])), [], 'every acknowledged key in exactly one child');
    assert.is(
      cluster.coordinator.lines().filter((l) => l.includes('auto split: started')).length,
      1,
      'one split started (the cooldown and maxShardsPerNamespace stop a second one)',
    );
  } finally {
    await cluster.close();
  }
});

S.run();
