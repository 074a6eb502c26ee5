// kill -9 during a shard split (ADR 0025), at a chosen phase, of the coordinator or of the
// parent's leader, under continuous writes and reads on a 3-node cluster (RF 3). A phase is held
// open so that the crash lands in it: Bootstrap by stopping (SIGSTOP) the parent's leader, whose
// freeze then cannot answer; Cutover by stopping a follower, so that the parent (Deleting) cannot
// be deleted everywhere; CatchUp lasts as long as the copies of a preloaded shard. After the
// crash the held process continues, the killed one restarts, and the split must end with two
// led children holding every acknowledged write exactly once.
import * as assert from 'uvu/assert';
import { GrpcAdminClient } from '../../../src/adapters/admin-client/grpc-admin-client.js';
import { OxiaClient } from '../../../src/adapters/client/index.js';
import { PLAINTEXT } from '../../../src/adapters/tls/grpc-channel-credentials.js';
import type { ClusterStatus } from '../../../src/domain/cluster/cluster-status.js';
import { TestCluster } from '../../support/cluster.js';
import { waitFor } from '../../support/wait.js';
import { keysInExactlyOneShard, shardsOf, SplitLoad, waitSplitDone } from './split-check.js';

export type SplitPhaseName = 'Bootstrap' | 'CatchUp' | 'Cutover';
export type SplitVictim = 'coordinator' | 'parent leader';

const ORDER = ['none', 'Bootstrap', 'CatchUp', 'Cutover', 'done'] as const;

/** The phase of the split the status records ('none' before, 'done' once the parent is gone). */
export function splitPhaseOf(status: ClusterStatus): (typeof ORDER)[number] {
  const shards = shardsOf(status);
  const parent = shards.find((s) => s.metadata.split?.childShardIds.length);
  if (parent) return parent.metadata.split!.phase as SplitPhaseName;
  return shards.length === 2 ? 'done' : 'none';
}

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

export async function crashDuringSplit(victim: SplitVictim, phase: SplitPhaseName, preloadKeys: number): Promise<void> {
  const cluster = await TestCluster.start({ nodes: 3, namespaces: [{ name: 'default', shards: 1, rf: 3 }] });
  try {
    await waitSplitDone(cluster, 1);
    const before = await preload(cluster.nodes[0]!.publicAddress, preloadKeys);
    const parent = shardsOf(cluster.readStatus())[0]!;
    const leader = cluster.nodes.find((n) => n.name === parent.metadata.leader!.name)!;
    const [held, steady] = cluster.nodes.filter((n) => n !== leader) as [(typeof cluster.nodes)[number], (typeof cluster.nodes)[number]];
    // The load's client learns assignments from a node that is never stopped or killed.
    const load = await SplitLoad.start(steady.publicAddress);
    await waitFor(() => load.acked.size >= 50, 'writes before the split', 60_000, 20);

    const stopped = phase === 'Bootstrap' ? leader : phase === 'Cutover' ? held : undefined;
    stopped?.freeze();
    const admin = new GrpcAdminClient(String(cluster.coordinator.serving.publicAddress), { security: PLAINTEXT, requestTimeoutMs: 20_000 });
    try {
      await admin.call('splitShard', { namespace: 'default', shard: parent.shard, splitPoint: undefined });
    } finally {
      admin.close();
    }
    let seen: (typeof ORDER)[number] = 'none';
    await waitFor(
      () => {
        seen = splitPhaseOf(cluster.readStatus());
        return ORDER.indexOf(seen) >= ORDER.indexOf(phase);
      },
      `the split in ${phase}`,
      60_000,
      5,
    );

    if (victim === 'coordinator') await cluster.coordinator.kill9();
    else await leader.kill9();
    const atKill = splitPhaseOf(cluster.readStatus());
    console.log(`kill -9 of the ${victim}: phase ${atKill} in the status`);
    // Bootstrap and Cutover are held open, so the crash lands in them for sure; CatchUp only
    // lasts as long as the copies.
    if (phase !== 'CatchUp') assert.is(atKill, phase, `the crash in ${phase}`);

    stopped?.thaw();
    if (victim === 'coordinator') await cluster.startCoordinator();
    else await leader.restart();

    await waitSplitDone(cluster, 2);
    const ackedAtSplit = load.acked.size;
    await waitFor(() => load.acked.size >= ackedAtSplit + 100, 'writes going on against the children', 60_000, 50);
    await load.stop();
    assert.equal(load.wrongReads, [], 'every read saw the acknowledged value');
    assert.equal(await keysInExactlyOneShard(cluster, new Map([...before, ...load.acked])), [], 'every acknowledged key in exactly one child');
    const shards = shardsOf(cluster.readStatus());
    assert.is(shards.length, 2, 'two children, no parent');
    assert.ok(shards.every((s) => s.shard > parent.shard));
  } finally {
    await cluster.close();
  }
}
