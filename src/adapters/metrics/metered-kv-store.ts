/**
 * The key-value stores as Oxia's dashboards see them (ADR 0026): per shard, how long each
 * atomic write (Oxia's "batch commit") took, how many operations and bytes it held, and
 * failed writes. Recorded per write, which is per applied batch of log entries, never per
 * read. Reads are only watched for failures (Oxia's read errors): a synchronous point read
 * passes through one try around the backend's call, reached only on a read-cache miss (the
 * cache answers hits itself), where the backend's lookup costs far more than the call. Sits
 * between the backend and the read cache, so what it times is the backend's own commit.
 */
import { DecoratingKvStoreFactory } from '../kv-common/decorating-kv-store-factory.js';
import type { KvSnapshot, KvStore, KvStoreFactory, KvWriteOptions } from '../../application/ports/kv-store.js';
import type { BoundCounter, BoundHistogram, Metrics } from '../../application/ports/metrics.js';
import type { ShardRef } from '../../application/ports/shard-ref.js';
import { SHARD_LABELS, shardLabels } from '../../application/shard/shard-metrics.js';
import type { KvEntry, KvOp, KvRange } from '../../domain/database/kv-view.js';

function instruments(m: Metrics) {
  return {
    commitLatency: m.histogram('oxia_server_kv_batch_commit_latency_milliseconds', 'Time to commit one atomic write into the key-value store', SHARD_LABELS),
    batchCount: m.histogram('oxia_server_kv_batch_count', 'Operations (puts and deletes of records) in one write to the key-value store', SHARD_LABELS),
    batchSize: m.histogram('oxia_server_kv_batch_size_bytes', 'Bytes of keys and values in one write to the key-value store', SHARD_LABELS),
    writeOps: m.counter('oxia_server_kv_write_ops_total', 'Record operations written into the key-value store', SHARD_LABELS),
    writeBytes: m.counter('oxia_server_kv_write_bytes_total', 'Bytes of keys and values written into the key-value store', SHARD_LABELS),
    writeErrors: m.counter('oxia_server_kv_write_errors_total', 'Writes the key-value store failed', SHARD_LABELS),
    readErrors: m.counter('oxia_server_kv_read_errors_total', 'Reads the key-value store failed (point reads, range reads, snapshot reads)', SHARD_LABELS),
  };
}
type Instruments = ReturnType<typeof instruments>;

class MeteredKvStore implements KvStore {
  readonly getNow: KvStore['getNow'];
  private readonly commitLatency: BoundHistogram;
  private readonly batchCount: BoundHistogram;
  private readonly batchSize: BoundHistogram;
  private readonly writeOps: BoundCounter;
  private readonly writeBytes: BoundCounter;
  private readonly writeErrors: BoundCounter;
  private readonly readErrors: BoundCounter;

  constructor(
    private readonly store: KvStore,
    private readonly all: Instruments,
    private readonly labels: Readonly<Record<string, string>>,
  ) {
    const readErrors = all.readErrors.bind(labels);
    this.readErrors = readErrors;
    const storeGetNow = store.getNow;
    this.getNow =
      storeGetNow === undefined
        ? undefined
        : (key) => {
            try {
              return storeGetNow(key);
            } catch (e) {
              readErrors.inc();
              throw e;
            }
          };
    this.commitLatency = all.commitLatency.bind(labels);
    this.batchCount = all.batchCount.bind(labels);
    this.batchSize = all.batchSize.bind(labels);
    this.writeOps = all.writeOps.bind(labels);
    this.writeBytes = all.writeBytes.bind(labels);
    this.writeErrors = all.writeErrors.bind(labels);
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> {
    return countingFailures(this.store.get(key), this.readErrors);
  }

  range(range: KvRange): AsyncIterable<KvEntry> {
    return countingIterationFailures(this.store.range(range), this.readErrors);
  }

  async write(ops: readonly KvOp[], options?: KvWriteOptions): Promise<void> {
    let bytes = 0;
    for (const op of ops) bytes += op.type === 'put' ? op.key.length + op.value.length : op.key.length;
    const startedMs = performance.now();
    try {
      await this.store.write(ops, options);
    } catch (e) {
      this.writeErrors.inc();
      throw e;
    }
    this.commitLatency.observe(performance.now() - startedMs);
    this.batchCount.observe(ops.length);
    this.batchSize.observe(bytes);
    this.writeOps.inc(ops.length);
    this.writeBytes.inc(bytes);
  }

  async snapshot(): Promise<KvSnapshot> {
    const snapshot = await countingFailures(this.store.snapshot(), this.readErrors);
    const readErrors = this.readErrors;
    return {
      get: (key) => countingFailures(snapshot.get(key), readErrors),
      range: (range) => countingIterationFailures(snapshot.range(range), readErrors),
      close: () => snapshot.close(),
    };
  }

  flush(): Promise<void> {
    return this.store.flush();
  }

  sizeBytes(): Promise<bigint> {
    return this.store.sizeBytes();
  }

  async close(): Promise<void> {
    for (const metric of [this.all.commitLatency, this.all.batchCount, this.all.batchSize, this.all.writeOps, this.all.writeBytes, this.all.writeErrors, this.all.readErrors]) {
      metric.remove(this.labels);
    }
    await this.store.close();
  }
}

function countingFailures<T>(read: Promise<T>, errors: BoundCounter): Promise<T> {
  return read.catch((e: unknown) => {
    errors.inc();
    throw e;
  });
}

/** The same entries; a failed step (the backend's read of a page) is counted, then rethrown. */
function countingIterationFailures(entries: AsyncIterable<KvEntry>, errors: BoundCounter): AsyncIterable<KvEntry> {
  return {
    [Symbol.asyncIterator]() {
      const it = entries[Symbol.asyncIterator]();
      return {
        next: () => countingFailures(it.next(), errors),
        return: (value?: unknown) => (it.return ? it.return(value) : Promise.resolve({ done: true as const, value: undefined })),
      };
    },
  };
}

/** Opens the backend's stores with their writes measured. */
export class MeteredKvStoreFactory extends DecoratingKvStoreFactory {
  private readonly all: Instruments;

  constructor(backend: KvStoreFactory, metrics: Metrics) {
    super(backend);
    this.all = instruments(metrics);
  }

  protected decorate(store: KvStore, shard: ShardRef): KvStore {
    return new MeteredKvStore(store, this.all, shardLabels(shard));
  }
}
