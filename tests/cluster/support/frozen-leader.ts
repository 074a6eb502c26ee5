// Freezing a shard leader (SIGSTOP) under a write load and measuring how long its shard could
// not take writes: from the SIGSTOP to the first acknowledged put on that shard that was
// issued after it.
import { GrpcStorageNodeClient } from '../../../src/adapters/coordination-client/grpc-storage-node-client.js';
import { PLAINTEXT } from '../../../src/adapters/tls/grpc-channel-credentials.js';
import { ServingStatus } from '../../../src/domain/wire/replication.js';
import type { TestCluster } from '../../support/cluster.js';
import { waitFor } from '../../support/wait.js';
import { WriteLoad, type Ack } from './write-load.js';

export interface FreezeTrial {
  readonly shard: bigint;
  readonly victim: string;
  /** From SIGSTOP (or SIGKILL) to the first acknowledged put on the shard issued after it. */
  readonly writableAgainMs: number;
  /** Every put acknowledged during the trial. */
  readonly acks: readonly Ack[];
}

/**
 * One trial: the leader of the `pick`-th shard (modulo the shard count) is frozen (or, with
 * `how` 'kill', killed with SIGKILL) while `concurrency` writers go through a client connected
 * to another node; once its shard took a write again the leader is resumed (restarted), the
 * load stopped, and every replica caught up.
 */
export async function freezeLeaderTrial(cluster: TestCluster, pick: number, concurrency: number, prefix: string, how: 'freeze' | 'kill' = 'freeze'): Promise<FreezeTrial> {
  const shards = await cluster.leaders();
  const target = shards[pick % shards.length]!;
  const victim = cluster.nodeByPublic(target.leader);
  const entry = cluster.nodes.find((n) => n !== victim)!;
  const load = await WriteLoad.start(entry.publicAddress, shards, concurrency, prefix);
  let frozenAt = 0;
  try {
    await waitFor(() => load.acksOn(target.shard).length >= 30, `writes on shard ${target.shard} before the freeze`, 30_000);
    frozenAt = Date.now();
    if (how === 'freeze') victim.freeze();
    else await victim.kill9();
    await waitFor(() => load.issuedSince(target.shard, frozenAt).length > 0, `a write on shard ${target.shard} after its leader stopped`, 60_000, 10);
  } finally {
    victim.thaw();
    await load.stop();
  }
  const writableAgainMs = load.issuedSince(target.shard, frozenAt)[0]!.atMs - frozenAt;
  if (how === 'kill') await victim.restart();
  await replicasCaughtUp(cluster);
  return { shard: target.shard, victim: victim.name, writableAgainMs, acks: load.acks };
}

/** Waits until every member of every shard of `default` is at its leader's term and head. */
export async function replicasCaughtUp(cluster: TestCluster, timeoutMs = 60_000): Promise<void> {
  const probe = new GrpcStorageNodeClient({ rpcTimeoutMs: 2_000 }, PLAINTEXT);
  try {
    await waitFor(
      async () => {
        await cluster.leaders();
        const status = cluster.readStatus().namespaces.get('default')!;
        for (const [shard, meta] of status.shards) {
          if (!meta.leader) return false;
          const answers = await Promise.all(meta.ensemble.map((n) => probe.getStatus({ public: '', internal: n.internal }, { shard })));
          const leader = answers.find((a) => a.status === ServingStatus.LEADER);
          if (!leader || leader.term !== meta.term) return false;
          if (!answers.every((a) => a.term === leader.term && a.headOffset === leader.headOffset && a.status !== ServingStatus.FENCED)) return false;
        }
        return true;
      },
      'every replica at its leader term and head',
      timeoutMs,
      100,
    );
  } finally {
    await probe.close();
  }
}

/** The nearest-rank percentile `p` (0-100) of `values`. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
