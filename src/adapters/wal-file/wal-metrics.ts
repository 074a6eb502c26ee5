/**
 * What a shard's log reports per group-commit round (never per entry): how long writing the
 * round's records and making them durable took, and how many entries and bytes it held.
 * Reads likewise per chunk a reader fetches with one file read (up to 1 MiB of records), not
 * per entry: a follower's catch-up or a replay reads a stream of entries, and a clock read per
 * entry would cost on that path; Oxia's read latency is per entry, ours per chunk.
 * Latencies under Oxia's names and unit, milliseconds (ADR 0026); Oxia times each append,
 * this log each round, which is what one append waits for.
 */
import type { BoundCounter, BoundHistogram, Metrics } from '../../application/ports/metrics.js';
import type { ShardRef } from '../../application/ports/shard-ref.js';
import { SHARD_LABELS, shardLabels } from '../../application/shard/shard-metrics.js';

export interface WalRoundObserver {
  /**
   * A round is durable: `syncMs` is undefined when the log does not fsync (--wal-sync-data=false),
   * and equals `writeMs` when the write itself was durable (O_DSYNC files).
   */
  roundWritten(entries: number, bytes: number, writeMs: number, syncMs: number | undefined): void;
  /** One chunk of records was read from a segment file and checked. */
  chunkRead(bytes: number, readMs: number): void;
}

export class WalMetrics {
  private readonly appendLatency;
  private readonly syncLatency;
  private readonly appendBytes;
  private readonly appendEntries;
  private readonly readLatency;
  private readonly readBytes;

  constructor(metrics: Metrics) {
    this.appendLatency = metrics.histogram(
      'oxia_server_wal_append_latency_milliseconds',
      "Time to write one group-commit round of entries into the shard's log files; with --wal-sync-data the files are written O_DSYNC where the platform has it, so this includes the flush to the device",
      SHARD_LABELS,
    );
    this.syncLatency = metrics.histogram('oxia_server_wal_sync_latency_milliseconds', "Time to make one group-commit round of the shard's log durable: the fdatasync after the write, or the write itself where the files are written O_DSYNC", SHARD_LABELS);
    this.appendBytes = metrics.counter('oxia_server_wal_append_bytes_total', "Bytes appended to the shard's log (records with their framing)", SHARD_LABELS);
    this.appendEntries = metrics.counter('oxia_server_wal_appended_entries_total', "Entries appended to the shard's log", SHARD_LABELS);
    this.readLatency = metrics.histogram('oxia_server_wal_read_latency_milliseconds', "Time to read one chunk of records (one file read, up to 1 MiB) from the shard's log", SHARD_LABELS);
    this.readBytes = metrics.counter('oxia_server_wal_read_bytes_total', "Bytes read from the shard's log files (records with their framing)", SHARD_LABELS);
  }

  forShard(ref: ShardRef): WalRoundObserver {
    const labels = shardLabels(ref);
    const appendLatency: BoundHistogram = this.appendLatency.bind(labels);
    const syncLatency: BoundHistogram = this.syncLatency.bind(labels);
    const appendBytes: BoundCounter = this.appendBytes.bind(labels);
    const appendEntries: BoundCounter = this.appendEntries.bind(labels);
    const readLatency: BoundHistogram = this.readLatency.bind(labels);
    const readBytes: BoundCounter = this.readBytes.bind(labels);
    return {
      roundWritten(entries, bytes, writeMs, syncMs) {
        appendEntries.inc(entries);
        appendBytes.inc(bytes);
        appendLatency.observe(writeMs);
        if (syncMs !== undefined) syncLatency.observe(syncMs);
      },
      chunkRead(bytes, readMs) {
        readBytes.inc(bytes);
        readLatency.observe(readMs);
      },
    };
  }

  /** The shard's log was deleted: its series are no longer exported. */
  remove(ref: ShardRef): void {
    const labels = shardLabels(ref);
    this.appendLatency.remove(labels);
    this.syncLatency.remove(labels);
    this.appendBytes.remove(labels);
    this.appendEntries.remove(labels);
    this.readLatency.remove(labels);
    this.readBytes.remove(labels);
  }
}
