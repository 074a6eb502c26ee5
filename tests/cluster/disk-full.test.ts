// A full disk on one node of three (ADR 0029), each node on a tmpfs of its own: the leader
// whose disk fills fails the write it cannot make durable with DISK_FULL, steps down and says
// NOT_SERVING (readiness and the whole node, which the coordinator watches), so another
// replica leads and takes writes; once space is freed the node reopens its files by itself
// and follows again, caught up; no acknowledged write is lost.
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcStorageNodeClient } from '../../src/adapters/coordination-client/grpc-storage-node-client.js';
import { parseGrpcError } from '../../src/adapters/grpc-protocol/error-status.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import { Status } from '../../src/domain/wire/client.js';
import { ServingStatus as ReplicaStatus } from '../../src/domain/wire/replication.js';
import { TestCluster, withTimeout } from '../support/cluster.js';
import { HealthClient, ServingStatus } from '../support/health-client.js';
import { mountSmallFilesystem, type SmallFilesystem } from '../support/small-filesystem.js';
import { waitFor } from '../support/wait.js';

const FILLER = 'filler';
const VALUE = 'v'.repeat(8 * 1024);

async function leaderDiskFills(kv: 'sqlite' | 'level'): Promise<void> {
  const filesystems = new Map<string, SmallFilesystem>();
  for (const name of ['node-0', 'node-1', 'node-2']) {
    const fs = mountSmallFilesystem(24);
    if (!fs) {
      for (const f of filesystems.values()) f.unmount();
      console.log('skipped: this process may not mount a tmpfs');
      return;
    }
    filesystems.set(name, fs);
  }
  const cluster = await TestCluster.start({
    kv,
    nodes: 3,
    namespaces: [{ name: 'default', shards: 1, rf: 3 }],
    serverArgs: ['--min-free-disk-bytes', '0'],
    nodeRoots: Object.fromEntries([...filesystems].map(([name, fs]) => [name, fs.dir])),
  });
  const probe = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  try {
    const [first] = await cluster.leaders();
    const shard = first!.shard;
    const victim = cluster.nodeByPublic(first!.leader);
    const victimFs = filesystems.get(victim.name)!;
    const acked = new Map<string, string>();
    const put = async (address: string, key: string): Promise<void> => {
      const value = `${key}:${VALUE}`;
      const r = await withTimeout(cluster.client(address).put(shard, { key, value: Buffer.from(value) }), 10_000);
      assert.is(r.puts[0]?.status, Status.OK);
      acked.set(key, value);
    };
    for (let i = 0; i < 20; i++) await put(victim.publicAddress, `/before/${i}`);

    victimFs.fill(FILLER, 512 * 1024);
    let failure: grpc.ServiceError | undefined;
    for (let i = 0; i < 5_000 && failure === undefined; i++) {
      try {
        await put(victim.publicAddress, `/full/${i}`);
      } catch (e) {
        if (typeof (e as grpc.ServiceError).code !== 'number') throw e;
        failure = e as grpc.ServiceError;
      }
    }
    assert.ok(failure, 'a put failed once the leader disk was full');
    const parsed = parseGrpcError(failure);
    assert.is(parsed.reason, 'DISK_FULL', `the write the leader could not make durable: ${parsed.message}`);
    assert.is(parsed.code, grpc.status.RESOURCE_EXHAUSTED);

    const health = new HealthClient(victim.publicAddress);
    try {
      await waitFor(async () => (await health.check('oxia-readiness')) === ServingStatus.NOT_SERVING, 'the full node not ready');
      assert.is(await health.check(''), ServingStatus.NOT_SERVING);

      const [moved] = await cluster.leaders('default', [victim.publicAddress]);
      for (let i = 0; i < 20; i++) await put(moved!.leader, `/moved/${i}`);

      victimFs.free(FILLER);
      await waitFor(async () => (await health.check('oxia-readiness')) === ServingStatus.SERVING, 'the node ready again once space was freed', 30_000, 100);
    } finally {
      health.close();
    }
    assert.ok(victim.process.lines().some((l) => l.includes('shard writes again')), 'the node reopened its files without a restart');

    // It follows again, caught up with the leader.
    const [now] = await cluster.leaders();
    const leader = cluster.nodeByPublic(now!.leader);
    for (let i = 0; i < 5; i++) await put(leader.publicAddress, `/after/${i}`);
    if (leader !== victim) {
      await waitFor(
        async () => {
          const [l, f] = await Promise.all([
            probe.getStatus({ public: '', internal: leader.internalAddress }, { shard }),
            probe.getStatus({ public: '', internal: victim.internalAddress }, { shard }),
          ]);
          return l.status === ReplicaStatus.LEADER && f.status === ReplicaStatus.FOLLOWER && f.term === l.term && f.headOffset === l.headOffset;
        },
        'the recovered node to follow, caught up',
        60_000,
        200,
      );
    }
    for (const [key, value] of acked) {
      const g = await cluster.client(leader.publicAddress).get(shard, key);
      assert.is(g.status, Status.OK, `acknowledged ${key} is there`);
      assert.is(Buffer.from(g.value ?? []).toString(), value);
    }
  } catch (e) {
    console.log(cluster.logs());
    throw e;
  } finally {
    await probe.close();
    await cluster.close();
    for (const fs of filesystems.values()) fs.unmount();
  }
}

for (const kv of ['sqlite', 'level'] as const) {
  test(`a leader whose disk fills steps down, another leads, and it rejoins once space is freed (--kv ${kv})`, () => leaderDiskFills(kv));
}

test.run();
