// A split that cannot reach its commit in time is rolled back (ADR 0025): on a real 3-node
// cluster (RF 3) the parent's two followers are killed, so neither child can get a majority of
// copies; after --split-timeout the coordinator drops the children, elects the parent anew (a new
// term, which ends the freeze) once the nodes are back, and deletes the children's copies. Clients
// keep working on the parent: no acknowledged write lost, every key readable.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcAdminClient } from '../../src/adapters/admin-client/grpc-admin-client.js';
import { OxiaClient } from '../../src/adapters/client/index.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { keysInExactlyOneShard, shardsOf, SplitLoad, waitSplitDone } from './support/split-check.js';

const S = suite('cluster: shard split rolled back at its deadline');

S('no majority of copies before the deadline: children dropped, parent re-elected, clients go on', async () => {
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 1, rf: 3 }], coordinatorArgs: ['--split-timeout', '3s'] });
  try {
    await waitSplitDone(cluster, 1);
    const client = await OxiaClient.connect(cluster.nodes[0]!.publicAddress, { requestTimeoutMs: 60_000 });
    const before = new Map<string, string>();
    try {
      await Promise.all(Array.from({ length: 500 }, (_, i) => client.put(`/pre/${i}`, `v${i}`).then(() => before.set(`/pre/${i}`, `v${i}`))));
    } finally {
      await client.close();
    }
    const parent = shardsOf(cluster.readStatus())[0]!;
    const leaderNode = cluster.nodes.find((n) => n.name === parent.metadata.leader!.name)!;
    const followers = cluster.nodes.filter((n) => n !== leaderNode);
    for (const f of followers) await f.kill9();

    const admin = new GrpcAdminClient(String(cluster.coordinator.serving.publicAddress), { security: PLAINTEXT, requestTimeoutMs: 20_000 });
    let children: bigint[];
    try {
      const answer = await admin.call('splitShard', { namespace: 'default', shard: parent.shard, splitPoint: undefined });
      children = [answer.leftChildShard, answer.rightChildShard];
    } finally {
      admin.close();
    }
    const load = await SplitLoad.start(leaderNode.publicAddress, 2, 1);

    // Rolled back: one status write drops the split and sends the parent to a new election.
    await waitFor(
      () => {
        const p = shardsOf(cluster.readStatus()).find((s) => s.shard === parent.shard)?.metadata;
        return p !== undefined && p.split === undefined;
      },
      'the split rolled back',
      60_000,
      50,
    );
    assert.ok(cluster.coordinator.lines().some((l) => l.includes('rolling it back')));
    for (const f of followers) await f.restart();

    await waitSplitDone(cluster, 1);
    const after = shardsOf(cluster.readStatus());
    assert.equal(
      after.map((s) => s.shard),
      [parent.shard],
      `the children ${children.join(', ')} are gone`,
    );
    assert.ok(after[0]!.metadata.term > parent.metadata.term, `the parent has a new term (${after[0]!.metadata.term} after ${parent.metadata.term})`);
    assert.equal(after[0]!.metadata.int32HashRange, parent.metadata.int32HashRange, 'the parent keeps its whole range');

    await waitFor(() => load.acked.size >= 100, 'writes going on against the parent', 60_000, 50);
    await load.stop();
    assert.equal(load.wrongReads, [], 'every read saw the acknowledged value');
    assert.equal(load.failures, [], 'writes were only retried, never failed');
    assert.equal(await keysInExactlyOneShard(cluster, new Map([...before, ...load.acked])), [], 'every acknowledged key on the parent');
  } finally {
    await cluster.close();
  }
});

S.run();
