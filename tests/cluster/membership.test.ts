// Dynamic membership with real processes: a namespace added to the config at runtime gets its
// shards; a server removed from the config has its replicas moved to the others through
// elections with new ensembles; a server added to the config takes its share of the existing
// shards (replica balancing); no written data is lost.
import { renameSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { GrpcStorageNodeClient } from '../../src/adapters/coordination-client/grpc-storage-node-client.js';
import { PLAINTEXT } from '../../src/adapters/tls/grpc-channel-credentials.js';
import type { ClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { Status } from '../../src/domain/wire/client.js';
import { ServingStatus } from '../../src/domain/wire/replication.js';
import { clusterYaml } from '../coordinator/support/coordinator-harness.js';
import { TestCluster, withTimeout, type ClusterNode, type NamespaceSpec } from '../support/cluster.js';
import { RawOxiaClient, type ShardInfo } from '../support/raw-client.js';
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

/**
 * The cluster config with a fast load balancer, so that balancing runs within the test (the
 * default schedule is every 30 s): the config's loadBalancer section is how it is set.
 */
function writeConfigWithFastBalancer(cluster: TestCluster, namespaces: readonly NamespaceSpec[], nodes: readonly ClusterNode[]): void {
  const servers = nodes.map((n) => ({ name: n.name, public: n.publicAddress, internal: n.internalAddress }));
  const temp = `${cluster.configPath}.tmp`;
  writeFileSync(temp, clusterYaml(namespaces, servers, 'loadBalancer:\n  scheduleInterval: 500ms\n  quarantineTime: 5s\n'));
  renameSync(temp, cluster.configPath);
}

function replicasOf(status: ClusterStatus, name: string): number {
  let n = 0;
  for (const ns of status.namespaces.values()) for (const s of ns.shards.values()) if (s.ensemble.some((m) => m.name === name)) n++;
  return n;
}

/** Bound on the records written while replicas move (one at a time, so a few thousand at most). */
const RECORDS_DURING_MAX = 20_000;

/**
 * Writes records one at a time through the shard leaders until stopped, following leader
 * changes; keeps the acknowledged ones (an unacknowledged put is retried with the same value).
 */
class Writer {
  readonly acked: { key: string; value: string; atMs: number }[] = [];
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(
    private readonly cluster: TestCluster,
    private shards: ShardInfo[],
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    for (let i = 0; !this.stopped && i < RECORDS_DURING_MAX; i++) {
      const key = `/during/${String(i).padStart(6, '0')}`;
      const value = `${key}=${i}`;
      while (!this.stopped) {
        const shard = RawOxiaClient.shardFor(this.shards, key);
        const leader = this.shards.find((s) => s.shard === shard)!.leader;
        try {
          const r = await withTimeout(this.cluster.client(leader).put(shard, { key, value: Buffer.from(value) }), 5_000);
          if (r.puts[0]?.status === Status.OK) {
            this.acked.push({ key, value, atMs: Date.now() });
            break;
          }
        } catch {
          // the leader moved or is being fenced: ask for the leaders again
        }
        this.shards = await this.cluster.leaders('default');
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

test('a server added to the config takes replicas of the existing shards; every record written before and during the moves is kept', async () => {
  const namespaces = [{ name: 'default', shards: 4, rf: 3 }];
  // Four server processes, but the coordinator first knows only three: the fourth starts empty.
  const cluster = await TestCluster.start({ nodes: 4, namespaces, withoutCoordinator: true });
  const probe = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  let writer: Writer | undefined;
  try {
    const added = cluster.nodes[3]!;
    writeConfigWithFastBalancer(cluster, namespaces, cluster.nodes.slice(0, 3));
    await cluster.startCoordinator();
    let shards = await cluster.leaders('default');
    assert.is(replicasOf(cluster.readStatus(), added.name), 0, 'the fourth server holds nothing yet');

    const before = Array.from({ length: 60 }, (_, i) => `/before/${String(i).padStart(3, '0')}`);
    for (const key of before) {
      const shard = RawOxiaClient.shardFor(shards, key);
      const r = await cluster.client(shards.find((s) => s.shard === shard)!.leader).put(shard, { key, value: Buffer.from(`v:${key}`) });
      assert.is(r.puts[0]?.status, Status.OK);
    }

    writer = new Writer(cluster, shards);
    await waitFor(() => writer!.acked.length >= 20, 'records written before the server is added', 20_000, 50);
    const addedAtMs = Date.now();
    writeConfigWithFastBalancer(cluster, namespaces, cluster.nodes);

    // 12 replicas over 4 servers: 3 each once balanced, every move finished and cleaned up.
    await waitFor(
      () => {
        const st = cluster.readStatus();
        const settled = [...st.namespaces.values()].every((ns) =>
          [...ns.shards.values()].every((s) => s.status === 'SteadyState' && s.removedNodes.length === 0 && s.pendingDeleteShardNodes.length === 0),
        );
        return settled && cluster.nodes.every((n) => replicasOf(st, n.name) === 3);
      },
      'three replicas on each of the four servers',
      45_000,
      100,
    );
    const movedAtMs = Date.now();
    await waitFor(() => writer!.acked.filter((a) => a.atMs > movedAtMs).length >= 20, 'records written after the moves', 20_000, 50);
    await writer.stop();
    const during = writer.acked;
    assert.ok(during.some((a) => a.atMs > addedAtMs && a.atMs < movedAtMs), 'records were written while replicas moved');

    // The added server serves its replicas at the shards' terms, caught up with their leaders
    // (the status is read again each time: leader balancing may elect meanwhile).
    const nodeOf = (name: string) => cluster.nodes.find((n) => n.name === name)!;
    await waitFor(
      async () => {
        const st = cluster.readStatus().namespaces.get('default')!;
        const held = [...st.shards.entries()].filter(([, s]) => s.ensemble.some((n) => n.name === added.name));
        if (held.length !== 3 || [...st.shards.values()].some((s) => s.status !== 'SteadyState')) return false;
        for (const [id, s] of held) {
          const leader = nodeOf(s.leader!.name!);
          const [l, mine] = await Promise.all([
            probe.getStatus({ public: '', internal: leader.internalAddress }, { shard: id }),
            probe.getStatus({ public: '', internal: added.internalAddress }, { shard: id }),
          ]);
          const role = leader === added ? ServingStatus.LEADER : ServingStatus.FOLLOWER;
          if (mine.status !== role || mine.term !== s.term || mine.headOffset !== l.headOffset) return false;
        }
        return true;
      },
      'the added server holds its replicas, caught up',
      20_000,
      100,
    );
    const seen = await cluster.client(added.publicAddress).shards('default');
    assert.is(seen.length, 4, 'the added server hands out the assignments');
    assert.ok(seen.every((s) => s.leader !== ''), 'with a leader for every shard');

    shards = await cluster.leaders('default');
    const expected = [...before.map((key) => ({ key, value: `v:${key}` })), ...during];
    const byShard = new Map<bigint, { key: string; value: string }[]>();
    for (const r of expected) {
      const shard = RawOxiaClient.shardFor(shards, r.key);
      byShard.set(shard, [...(byShard.get(shard) ?? []), r]);
    }
    const wrong: string[] = [];
    // Leader balancing may still move a leader: a read refused by a former leader asks again.
    const readFromLeader = async (shard: bigint, gets: { key: string; includeValue: boolean }[]) => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        try {
          return await cluster.client(shards.find((s) => s.shard === shard)!.leader).read(shard, gets);
        } catch (e) {
          if (Date.now() > deadline || !/not the leader|ABORTED|UNAVAILABLE/.test(String(e))) throw e;
          shards = await cluster.leaders('default');
        }
      }
    };
    for (const [shard, records] of byShard) {
      for (let i = 0; i < records.length; i += 100) {
        const batch = records.slice(i, i + 100);
        const got = await readFromLeader(shard, batch.map((r) => ({ key: r.key, includeValue: true })));
        batch.forEach((r, j) => {
          const g = got[j];
          const value = g?.status === Status.OK && g.value ? Buffer.from(g.value).toString() : `status ${g?.status}`;
          if (value !== r.value) wrong.push(`${r.key} on shard ${shard}: expected ${r.value}, got ${value}`);
        });
      }
    }
    assert.equal(wrong.slice(0, 10), [], `${wrong.length} of ${expected.length} records wrong after the moves`);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster.logs()}`);
  } finally {
    await writer?.stop();
    await probe.close();
    await cluster.close();
  }
});

test.run();
