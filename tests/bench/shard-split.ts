// Measures a shard split (ADR 0025) against shard size: a 3-node cluster (RF 3), one shard
// preloaded with N keys (100-byte values), a light write and read load through the oxia-ts
// client, then `SplitShard`. Prints the split's duration (admin call to both children led) and
// the longest any put or get of the load took (the pause a key saw).
//   node --import tsx tests/bench/shard-split.ts 10000 100000
import { GrpcAdminClient } from '../../src/adapters/admin-client/grpc-admin-client.js';
import { OxiaClient } from '../../src/adapters/client/index.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { TestCluster } from '../support/cluster.js';
import { shardsOf, SplitLoad, waitSplitDone } from '../cluster/support/split-check.js';
import { logLines } from '../cluster/support/coordinators.js';

const VALUE = 'x'.repeat(100);

async function measure(keys: number): Promise<void> {
  // The split is measured to its end: a deadline past any size measured here (the default 5m would roll a large split back).
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 1, rf: 3 }], coordinatorArgs: ['--split-timeout', '60m'] });
  try {
    await waitSplitDone(cluster, 1);
    const client = await OxiaClient.connect(cluster.nodes[0]!.publicAddress, { requestTimeoutMs: 120_000 });
    const preloadStarted = Date.now();
    for (let i = 0; i < keys; i += 2_000) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(keys, i + 2_000); j++) batch.push(client.put(`/pre/${String(j).padStart(8, '0')}`, VALUE));
      await Promise.all(batch);
    }
    await client.close();
    const preloadMs = Date.now() - preloadStarted;
    const load = await SplitLoad.start(cluster.nodes[1]!.publicAddress, 2, 1);
    await new Promise((r) => setTimeout(r, 1_000));
    const pauseBefore = load.longestPauseMs;
    const admin = new GrpcAdminClient(String(cluster.coordinator.serving.publicAddress), { security: PLAINTEXT, requestTimeoutMs: 20_000 });
    const started = Date.now();
    await admin.call('splitShard', { namespace: 'default', shard: shardsOf(cluster.readStatus())[0]!.shard, splitPoint: undefined });
    await waitSplitDone(cluster, 2, 1_800_000);
    const splitMs = Date.now() - started;
    await new Promise((r) => setTimeout(r, 1_000));
    await load.stop();
    admin.close();
    // The coordinator's view: how long the parent stayed frozen (first freeze to the commit), and
    // whether a node was taken for down (late or failed health checks) during the split.
    const lines = logLines(cluster.coordinator);
    const first = (msg: string) => lines.find((l) => l.msg === msg)?.time;
    const frozenAt = first('parent frozen; children catching up with its last entries') ?? first('parent frozen; copying the children');
    const committedAt = first('split committed: electing the children, deleting the parent');
    const count = (msg: string) => lines.filter((l) => l.msg === msg).length;
    console.log(
      JSON.stringify({
        keys,
        preloadMs,
        splitMs,
        longestPauseMs: load.longestPauseMs,
        longestPauseBeforeSplitMs: pauseBefore,
        failedWrites: load.failures.length,
        wrongReads: load.wrongReads.length,
        frozenMs: frozenAt !== undefined && committedAt !== undefined ? committedAt - frozenAt : undefined,
        liveRounds: count('children caught up with the serving parent'),
        nodesDown: count('storage node is down'),
        // When (ms after the split call) a node was taken for down, the parent frozen, the split committed.
        downAtMs: lines.filter((l) => l.msg === 'storage node is down').map((l) => l.time - started),
        frozenAtMs: frozenAt === undefined ? undefined : frozenAt - started,
        committedAtMs: committedAt === undefined ? undefined : committedAt - started,
        lateHealthChecks: count('storage node answered a health check late; it is down once one waits the timeout') + count('health check failed; tolerated below the failure threshold'),
      }),
    );
  } finally {
    await cluster.close();
  }
}

for (const arg of process.argv.slice(2)) await measure(Number(arg));
