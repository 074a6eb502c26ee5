// A shard split (ADR 0025) survives kill -9 in its CatchUp phase (parent frozen, children being
// copied), of the coordinator and of the parent's leader, under continuous writes and reads on
// a 3-node cluster (RF 3): the split resumes and commits, no acknowledged write is lost, and
// every key is in exactly one child.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcAdminClient } from '../../src/adapters/admin-client/grpc-admin-client.js';
import { OxiaClient } from '../../src/adapters/client/index.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { keysInExactlyOneShard, shardsOf, SplitLoad, waitSplitDone } from './support/split-check.js';

const S = suite('cluster: shard split under kill -9');
const PRELOAD = Number(process.env.SPLIT_CRASH_KEYS ?? 20_000);

async function preload(address: string, count: number): Promise<Map<string, string>> {
  const client = await OxiaClient.connect(address, { requestTimeoutMs: 60_000 });
  const written = new Map<string, string>();
  try {
    for (let i = 0; i < count; i += 1_000) {
      const batch: Promise<unknown>[] = [];
      for (let j = i; j < Math.min(count, i + 1_000); j++) {
        const key = `/pre/${String(j).padStart(7, '0')}`;
        batch.push(client.put(key, `v${j}`).then(() => written.set(key, `v${j}`)));
      }
      await Promise.all(batch);
    }
  } finally {
    await client.close();
  }
  return written;
}

/** Starts a split and waits for its CatchUp phase in the stored status; answers the phase it saw. */
async function splitUntilCatchUp(cluster: TestCluster): Promise<string> {
  const admin = new GrpcAdminClient(String(cluster.coordinator.serving.publicAddress), { security: PLAINTEXT, requestTimeoutMs: 20_000 });
  try {
    const parent = shardsOf(cluster.readStatus())[0]!.shard;
    await admin.call('splitShard', { namespace: 'default', shard: parent, splitPoint: undefined });
  } finally {
    admin.close();
  }
  let seen = '';
  await waitFor(
    () => {
      const shards = shardsOf(cluster.readStatus());
      seen = shards.find((s) => s.metadata.split?.childShardIds.length)?.metadata.split?.phase ?? (shards.length === 2 ? 'done' : 'none');
      return seen === 'CatchUp' || seen === 'Cutover' || seen === 'done';
    },
    'the split in CatchUp',
    60_000,
    5,
  );
  return seen;
}

async function scenario(kill: (cluster: TestCluster) => Promise<() => Promise<void>>): Promise<void> {
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 1, rf: 3 }] });
  try {
    await waitSplitDone(cluster, 1);
    const before = await preload(cluster.nodes[0]!.publicAddress, PRELOAD);
    // The load's client learns assignments from node 2, which is never killed here.
    const load = await SplitLoad.start(cluster.nodes[2]!.publicAddress);
    const phase = await splitUntilCatchUp(cluster);
    const recover = await kill(cluster);
    console.log(`killed in phase ${phase}`);
    await recover();
    await waitSplitDone(cluster, 2);
    const ackedAtSplit = load.acked.size;
    await waitFor(() => load.acked.size >= ackedAtSplit + 100, 'writes going on against the children', 60_000, 50);
    await load.stop();
    assert.equal(load.wrongReads, [], 'every read saw the acknowledged value');
    assert.equal(await keysInExactlyOneShard(cluster, new Map([...before, ...load.acked])), [], 'every acknowledged key in exactly one child');
    // Nothing of the parent is left on the nodes' assignments.
    assert.is(shardsOf(cluster.readStatus()).length, 2);
  } finally {
    await cluster.close();
  }
}

S('kill -9 of the coordinator while the children are copied: a new coordinator resumes the split', async () => {
  await scenario(async (cluster) => {
    await cluster.coordinator.kill9();
    return async () => {
      await cluster.startCoordinator();
    };
  });
});

S("kill -9 of the parent's leader while the children are copied: the parent is re-elected, frozen and copied again", async () => {
  await scenario(async (cluster) => {
    const leader = shardsOf(cluster.readStatus()).find((s) => s.metadata.split?.childShardIds.length)?.metadata.leader;
    const victim = cluster.nodes.find((n) => leader && n.name === leader.name && n !== cluster.nodes[2]) ?? cluster.nodes[0]!;
    await victim.kill9();
    return async () => {
      await victim.restart();
    };
  });
});

S.run();
