// Closed-loop callers on a few keys, through the oxia-ts client library, so that their
// operations conflict: gets, puts (some conditional on the version last seen, some on the
// key's absence) and deletes (some conditional), every one recorded in a HistoryRecorder.
import { KeyNotFoundError, OxiaClient, UnexpectedVersionIdError } from '../../../src/adapters/client/index.js';
import type { SeededRandom } from '../../../src/adapters/simulation/seeded-random.js';
import type { KvInput } from '../../sim/kv-history.js';
import type { HistoryRecorder } from '../../support/history-recorder.js';
import { RawOxiaClient, type ShardInfo } from '../../support/raw-client.js';

export interface ConflictLoadOptions {
  /** Each caller has its own client, connected to one of these (round robin). */
  readonly serviceAddresses: readonly string[];
  readonly shards: readonly ShardInfo[];
  readonly callers: number;
  readonly keys: readonly string[];
  /** Deadline of one operation, retries included: past it the operation is indeterminate. */
  readonly requestTimeoutMs: number;
  /** A pause between one caller's operations, drawn in [0, max]: keeps the history checkable. */
  readonly thinkMsMax: number;
  /** Draws the operations (not the timing, which the machine decides). */
  readonly random: SeededRandom;
}

export class ConflictLoad {
  private stopped = false;
  private readonly callers: Promise<void>[] = [];
  private readonly clients: OxiaClient[] = [];

  private constructor(
    private readonly recorder: HistoryRecorder,
    private readonly options: ConflictLoadOptions,
  ) {}

  static async start(recorder: HistoryRecorder, options: ConflictLoadOptions): Promise<ConflictLoad> {
    const load = new ConflictLoad(recorder, options);
    const quiet = { warn: () => {} };
    for (let i = 0; i < options.callers; i++) {
      const address = options.serviceAddresses[i % options.serviceAddresses.length]!;
      load.clients.push(await OxiaClient.connect(address, { requestTimeoutMs: options.requestTimeoutMs, logger: quiet }));
    }
    load.clients.forEach((client, i) => load.callers.push(load.run(`c${i}`, client, options.random.fork())));
    return load;
  }

  /** Operations answered so far, failures not counted (a liveness hint for the test). */
  answered = 0;

  private async run(name: string, client: OxiaClient, random: SeededRandom): Promise<void> {
    const versions = new Map<string, number>();
    for (let seq = 0; !this.stopped; seq++) {
      const key = random.pick(this.options.keys);
      const shard = RawOxiaClient.shardFor([...this.options.shards], key);
      const roll = random.next();
      const seen = versions.get(key);
      let failed = false;
      if (roll < 0.45) {
        const op = this.recorder.invoke(name, { type: 'get', key }, shard);
        try {
          const r = await client.get(key);
          versions.set(key, r.version.versionId);
          op.complete({ type: 'ok', value: Buffer.from(r.value ?? new Uint8Array()).toString(), versionId: BigInt(r.version.versionId) });
        } catch (e) {
          if (e instanceof KeyNotFoundError) op.complete({ type: 'not-found' });
          else {
            op.fail();
            failed = true;
          }
        }
      } else if (roll < 0.8) {
        const value = `${name}-${seq}`;
        const expected = random.chance(0.3) && seen !== undefined ? seen : random.chance(0.15) ? -1 : undefined;
        const input: KvInput = { type: 'put', key, value, ...(expected !== undefined ? { expectedVersion: BigInt(expected) } : {}) };
        const op = this.recorder.invoke(name, input, shard);
        try {
          const r = await client.put(key, value, expected !== undefined ? { expectedVersionId: expected } : {});
          versions.set(key, r.version.versionId);
          op.complete({ type: 'ok', versionId: BigInt(r.version.versionId) });
        } catch (e) {
          if (e instanceof UnexpectedVersionIdError) op.complete({ type: 'unexpected-version' });
          else {
            op.fail();
            failed = true;
          }
        }
      } else {
        const expected = random.chance(0.4) && seen !== undefined ? seen : undefined;
        const op = this.recorder.invoke(name, { type: 'delete', key, ...(expected !== undefined ? { expectedVersion: BigInt(expected) } : {}) }, shard);
        try {
          const existed = await client.delete(key, expected !== undefined ? { expectedVersionId: expected } : {});
          op.complete(existed ? { type: 'ok' } : { type: 'not-found' });
        } catch (e) {
          if (e instanceof UnexpectedVersionIdError) op.complete({ type: 'unexpected-version' });
          else {
            op.fail();
            failed = true;
          }
        }
      }
      if (!failed) this.answered++;
      const pauseMs = random.int(this.options.thinkMsMax + 1);
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  }

  /** Stops the callers after their current operation and closes the clients. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.callers);
    await Promise.all(this.clients.map((c) => c.close()));
  }
}
