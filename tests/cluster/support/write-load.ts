// A steady write load through the oxia-ts client library (which follows leader changes and
// retries by itself), recording every acknowledged write with its shard and time, so that
// fault tests can check that no acknowledged write is lost and measure how long a shard could
// not take writes.
import { OxiaClient } from '../../../src/adapters/client/index.js';
import { RawOxiaClient, type ShardInfo } from '../../support/raw-client.js';
import type { TestCluster } from '../../support/cluster.js';

export interface Ack {
  readonly key: string;
  readonly value: string;
  readonly shard: bigint;
  /** When the write was issued and when it was acknowledged (Date.now()). */
  readonly issuedAtMs: number;
  readonly atMs: number;
}

/** Bound on the recorded failures (each is one line of text). */
const FAILURES_KEPT_MAX = 1_000;

export class WriteLoad {
  readonly acks: Ack[] = [];
  readonly failures: string[] = [];
  private stopped = false;
  private readonly workers: Promise<void>[] = [];

  private constructor(
    private readonly client: OxiaClient,
    private readonly shards: readonly ShardInfo[],
  ) {}

  /**
   * Starts `concurrency` writers of unique keys through a client connected to `serviceAddress`
   * (a node the test will not kill: the client learns the assignments from it).
   */
  static async start(serviceAddress: string, shards: readonly ShardInfo[], concurrency = 8, prefix = '/load'): Promise<WriteLoad> {
    const client = await OxiaClient.connect(serviceAddress, { requestTimeoutMs: 60_000 });
    const load = new WriteLoad(client, shards);
    for (let w = 0; w < concurrency; w++) load.workers.push(load.run(`${prefix}/w${w}`));
    return load;
  }

  private async run(prefix: string): Promise<void> {
    for (let seq = 0; !this.stopped; seq++) {
      const key = `${prefix}/${String(seq).padStart(7, '0')}`;
      const value = `${key}@${seq}`;
      const issuedAtMs = Date.now();
      try {
        await this.client.put(key, value);
        this.acks.push({ key, value, shard: RawOxiaClient.shardFor([...this.shards], key), issuedAtMs, atMs: Date.now() });
      } catch (e) {
        // Not acknowledged: it may or may not be stored, and the check does not count it.
        if (this.failures.length < FAILURES_KEPT_MAX) this.failures.push(`${key}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  }

  acksOn(shard: bigint, afterMs = 0): Ack[] {
    return this.acks.filter((a) => a.shard === shard && a.atMs > afterMs);
  }

  /** Acknowledged puts on `shard` that were issued at or after `sinceMs`, in acknowledgement order. */
  issuedSince(shard: bigint, sinceMs: number): Ack[] {
    return this.acks.filter((a) => a.shard === shard && a.issuedAtMs >= sinceMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.workers);
    await this.client.close();
  }
}

/** Reads every acknowledged key from the current leaders; returns the ones missing or wrong. */
export async function missingAcks(cluster: TestCluster, acks: readonly Ack[], namespace = 'default'): Promise<string[]> {
  const shards = await cluster.leaders(namespace);
  const missing: string[] = [];
  const byShard = new Map<bigint, Ack[]>();
  for (const a of acks) byShard.set(a.shard, [...(byShard.get(a.shard) ?? []), a]);
  for (const [shard, list] of byShard) {
    const leader = shards.find((s) => s.shard === shard)!.leader;
    const client = cluster.client(leader);
    // Batches of gets in one read request.
    for (let i = 0; i < list.length; i += 100) {
      const batch = list.slice(i, i + 100);
      const got = await client.read(shard, batch.map((a) => ({ key: a.key, includeValue: true })));
      batch.forEach((a, j) => {
        const value = got[j]?.value ? Buffer.from(got[j]!.value!).toString() : undefined;
        if (value !== a.value) missing.push(`${a.key} on shard ${shard}: expected ${a.value}, got ${value ?? 'nothing'}`);
      });
    }
  }
  return missing;
}
