// Load and checks for shard split tests (ADR 0025): writers and readers through the oxia-ts
// client that record every acknowledged write and the longest time any operation took (the
// pause a key saw), and the check that every acknowledged key is in exactly one child.
import { OxiaClient } from '../../../src/adapters/client/index.js';
import { allShards, type ClusterStatus } from '../../../src/domain/cluster/cluster-status.js';
import type { TestCluster } from '../../support/cluster.js';
import { waitFor } from '../../support/wait.js';

export class SplitLoad {
  /** key -> value of every acknowledged write (the last one per key). */
  readonly acked = new Map<string, string>();
  /** Date.now() of each acknowledgement, in the order they came. */
  readonly ackTimesMs: number[] = [];
  readonly failures: string[] = [];
  readsChecked = 0;
  readonly wrongReads: string[] = [];
  /** The longest time one put or get took, and when it ended. */
  longestPauseMs = 0;
  private stopped = false;
  private readonly workers: Promise<void>[] = [];

  private constructor(private readonly client: OxiaClient) {}

  static async start(address: string, writers = 4, readers = 2, prefix = '/load'): Promise<SplitLoad> {
    const client = await OxiaClient.connect(address, { requestTimeoutMs: 120_000 });
    const load = new SplitLoad(client);
    for (let w = 0; w < writers; w++) load.workers.push(load.write(`${prefix}/w${w}`));
    for (let r = 0; r < readers; r++) load.workers.push(load.read());
    return load;
  }

  private timed<T>(op: Promise<T>): Promise<T> {
    const started = Date.now();
    return op.finally(() => {
      this.longestPauseMs = Math.max(this.longestPauseMs, Date.now() - started);
    });
  }

  private async write(prefix: string): Promise<void> {
    for (let seq = 0; !this.stopped; seq++) {
      const key = `${prefix}/${String(seq).padStart(7, '0')}`;
      const value = `${key}@${seq}`;
      try {
        await this.timed(this.client.put(key, value));
        this.acked.set(key, value);
        this.ackTimesMs.push(Date.now());
      } catch (e) {
        if (this.failures.length < 100) this.failures.push(`${key}: ${e instanceof Error ? e.message : String(e)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  /** Reads back acknowledged keys: each must have the acknowledged value. */
  private async read(): Promise<void> {
    while (!this.stopped) {
      const keys = [...this.acked.keys()];
      if (keys.length === 0) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const key = keys[Math.floor(Math.random() * keys.length)]!;
      const expected = this.acked.get(key)!;
      try {
        const got = await this.timed(this.client.get(key));
        this.readsChecked++;
        const value = Buffer.from(got.value!).toString();
        if (value !== expected) this.wrongReads.push(`${key}: expected ${expected}, got ${value}`);
      } catch (e) {
        if (this.wrongReads.length < 100) this.wrongReads.push(`${key}: ${e instanceof Error ? e.message : String(e)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers);
    await this.client.close();
  }
}

export function shardsOf(status: ClusterStatus, namespace = 'default') {
  return [...allShards(status)].filter((s) => s.namespace === namespace);
}

/** Waits until the namespace is exactly `shards` shards, none of them in a split, each led in SteadyState. */
export async function waitSplitDone(cluster: TestCluster, shards: number, timeoutMs = 180_000, namespace = 'default'): Promise<void> {
  await waitFor(
    () => {
      const mine = shardsOf(cluster.readStatus(), namespace);
      return mine.length === shards && mine.every((s) => s.metadata.status === 'SteadyState' && s.metadata.leader && !s.metadata.split);
    },
    `${namespace}: ${shards} shards, none splitting, each led`,
    timeoutMs,
    100,
  );
}

/**
 * Every key read from the leader of each shard: returns the problems (a key missing, in two
 * shards, or with another value).
 */
export async function keysInExactlyOneShard(cluster: TestCluster, expected: ReadonlyMap<string, string>, namespace = 'default'): Promise<string[]> {
  const shards = await cluster.client(cluster.nodes[0]!.publicAddress).shards(namespace);
  const found = new Map<string, { shard: bigint; value: string }[]>();
  const keys = [...expected.keys()];
  for (const s of shards) {
    const client = cluster.client(s.leader);
    for (let i = 0; i < keys.length; i += 200) {
      const batch = keys.slice(i, i + 200);
      const got = await client.read(s.shard, batch.map((key) => ({ key, includeValue: true })));
      batch.forEach((key, j) => {
        const v = got[j]?.value;
        if (v) found.set(key, [...(found.get(key) ?? []), { shard: s.shard, value: Buffer.from(v).toString() }]);
      });
    }
  }
  const problems: string[] = [];
  for (const [key, value] of expected) {
    const copies = found.get(key) ?? [];
    if (copies.length !== 1) problems.push(`${key}: in ${copies.length} shards (${copies.map((c) => c.shard).join(', ')})`);
    else if (copies[0]!.value !== value) problems.push(`${key}: expected ${value}, got ${copies[0]!.value}`);
  }
  return problems;
}
