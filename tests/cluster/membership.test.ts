// Dynamic membership with real processes: a namespace added to the config at runtime gets its
// shards; a server removed from the config has its replicas moved to the others through
// elections with new ensembles, and no written data is lost.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Status } from '../../src/domain/wire/client.js';
import { TestCluster } from '../support/cluster.js';
import { RawOxiaClient } from '../support/raw-client.js';
import { waitFor } from '../support/wait.js';

test('a namespace added at runtime is created and served; a removed server is evacuated without losing data', async () => {
  const cluster = await TestCluster.start({ nodes: 4, namespaces: [{ name: 'default', shards: 4, rf: 3 }] });
  try {
    let shards = await cluster.leaders('default');
    const keys = Array.from({ length: 60 }, (_, i) => `/m/${String(i).padStart(3, '0')}`);
    for (const key of keys) {
      const shard = RawOxiaClient.shardFor(shards, key);
      const r = await cluster.client(shards.find((s) => s.shard === shard)!.leader).put(shard, { key, value: Buffer.from(key) });
      assert.is(r.puts[0]?.status, Status.OK);
    }

    // A new namespace, declared while the cluster runs.
    const namespaces = [
      { name: 'default', shards: 4, rf: 3 },
      { name: 'extra', shards: 2, rf: 2 },
    ];
    cluster.writeConfig(namespaces);
    const extra = await cluster.leaders('extra');
    assert.equal(
      extra.map((s) => s.shard),
      [4n, 5n],
      'the next shard ids',
    );
    const put = await cluster.client(extra[0]!.leader).put(extra[0]!.shard, { key: '/e', value: Buffer.from('1') });
    assert.is(put.puts[0]?.status, Status.OK);

    // node-3 leaves the cluster config: its replicas must move.
    const leaving = cluster.nodes[3]!;
    cluster.writeConfig(namespaces, cluster.nodes.slice(0, 3));
    await waitFor(
      () => {
        const st = cluster.readStatus();
        return [...st.namespaces.values()].every((ns) =>
          [...ns.shards.values()].every(
            (s) =>
              s.status === 'SteadyState' &&
              !s.ensemble.some((n) => n.name === leaving.name) &&
              s.removedNodes.length === 0 &&
              s.pendingDeleteShardNodes.length === 0,
          ),
        );
      },
      'no shard on the removed server any more, its copies deleted',
      60_000,
      200,
    );
    const st = cluster.readStatus();
    for (const ns of st.namespaces.values()) for (const s of ns.shards.values()) assert.is(s.ensemble.length, ns.replicationFactor);

    shards = await cluster.leaders('default');
    for (const key of keys) {
      const shard = RawOxiaClient.shardFor(shards, key);
      const g = await cluster.client(shards.find((s) => s.shard === shard)!.leader).get(shard, key);
      assert.is(g.status, Status.OK, `${key} after the move`);
      assert.is(Buffer.from(g.value!).toString(), key);
    }
    // The removed node can be stopped without any shard noticing.
    await leaving.stop();
    for (const s of await cluster.leaders('default')) {
      const r = await cluster.client(s.leader).put(s.shard, { key: `/after-move/${s.shard}`, value: Buffer.from('x') });
      assert.is(r.puts[0]?.status, Status.OK);
    }
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster.logs()}`);
  } finally {
    await cluster.close();
  }
});

test.run();
