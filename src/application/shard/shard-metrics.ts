/**
 * The metrics one shard replica records as it works: client writes and reads (on the
 * leader), applying committed entries, sessions and snapshot transfers. The series Oxia's
 * dashboards query carry Oxia's names and units (ADR 0026): latencies in milliseconds, and
 * `oxia_server_db_*` operation counts taken where the database applies them, on every
 * replica, as Oxia's are. Every series is
 * bound to the shard's labels once, when the shard opens, and recorded per request, per
 * batch or per transfer, never per key: the data path runs at tens of thousands of
 * operations per second. Offsets, roles, follower lag and sizes are not recorded here;
 * NodeMetrics reads them at scrape time.
 */
import type { LogEntryValue } from '../../domain/wire/storage.js';
import type { BoundCounter, BoundHistogram, Metrics } from '../ports/metrics.js';
import type { ShardRef } from '../ports/shard-ref.js';

/** Labels of every per-shard series; `oxia_namespace` as Oxia's (`namespace` is the Kubernetes one). */
export const SHARD_LABELS = ['oxia_namespace', 'shard'] as const;

export function shardLabels(ref: ShardRef): { oxia_namespace: string; shard: string } {
  return { oxia_namespace: ref.namespace, shard: ref.shard.toString() };
}

type Direction = 'sent' | 'received';

/** Why a shard cannot write: no space (or below the free-space threshold), or another I/O error. */
export type StorageFailureReason = 'disk_full' | 'io_error';
const STORAGE_FAILURE_REASONS: readonly StorageFailureReason[] = ['disk_full', 'io_error'];
/**
 * Which integrity check found a replica that differs (ADR 0031): the CRC chain of the log,
 * the state digests compared across the ensemble, or a store whose records no longer give
 * the digest it recorded (checked when the shard opens).
 */
export type IntegrityCheck = 'log_chain' | 'state_digest' | 'stored_digest';
const INTEGRITY_CHECKS: readonly IntegrityCheck[] = ['log_chain', 'state_digest', 'stored_digest'];

function instruments(m: Metrics) {
  const shard = SHARD_LABELS;
  return {
    writeRequests: m.counter('oxia_server_write_requests_total', 'Client write requests (each one log entry) applied by the leader', shard),
    dbPuts: m.counter('oxia_server_db_puts_total', 'Puts applied to the database (leader and followers)', shard),
    dbDeletes: m.counter('oxia_server_db_deletes_total', 'Deletes applied to the database (leader and followers)', shard),
    dbDeleteRanges: m.counter('oxia_server_db_delete_ranges_total', 'Delete ranges applied to the database (leader and followers)', shard),
    writeLatency: m.histogram(
      'oxia_server_leader_write_latency_milliseconds',
      'Time from the leader taking a client write request to its entry being committed and applied',
      shard,
    ),
    readRequests: m.counter('oxia_server_read_requests_total', 'Client read requests (batches of gets) served by the leader', shard),
    dbGets: m.counter('oxia_server_db_gets_total', 'Gets served by the leader', shard),
    dbLists: m.counter('oxia_server_db_lists_total', 'Lists served by the leader', shard),
    dbRangeScans: m.counter('oxia_server_db_range_scans_total', 'Range scans served by the leader', shard),
    readBytes: m.counter('oxia_server_read_bytes_total', 'Bytes of values returned by gets and range scans', shard),
    readLatency: m.histogram('oxia_server_read_latency_seconds', 'Time to serve the gets of one client read request', shard),
    applyLatency: m.histogram(
      'oxia_server_apply_latency_seconds',
      'Time to apply one batch of committed entries to the key-value store (leader and followers)',
      shard,
    ),
    sessions: m.counter('oxia_server_sessions_total', 'Session events on the leader, by event (created, closed, expired)', [...shard, 'event']),
    snapshots: m.counter(
      'oxia_server_snapshots_total',
      'Snapshot transfers, by direction (sent by a leader, received by a follower) and outcome (completed, failed)',
      [...shard, 'direction', 'outcome'],
    ),
    snapshotBytes: m.counter('oxia_server_snapshot_bytes_total', 'Bytes of snapshot chunks transferred, by direction', [...shard, 'direction']),
    snapshotLatency: m.histogram('oxia_server_snapshot_transfer_seconds', 'Time of one completed snapshot transfer, by direction', [...shard, 'direction']),
    leaseWaits: m.counter(
      'oxia_server_read_lease_waits_total',
      "Client reads that found the leader's read lease lapsed, by outcome (renewed: served after a wait; refused: NodeIsNotLeader)",
      [...shard, 'outcome'],
    ),
    unwritable: m.gauge(
      'oxia_server_storage_unwritable',
      'Whether the shard cannot write (1) and why (disk_full, io_error): writes are refused until a write probe passes and the log and store are reopened',
      [...shard, 'reason'],
    ),
    unwritableEvents: m.counter('oxia_server_storage_failures_total', 'Times the shard stopped writing because of its storage, by reason (disk_full, io_error)', [...shard, 'reason']),
    divergences: m.counter(
      'oxia_server_replica_divergence_total',
      'Replicas found to differ from their leader, by the check that found it (log_chain, state_digest, stored_digest); each one is rebuilt from a snapshot',
      [...shard, 'check'],
    ),
    digestComparisons: m.counter(
      'oxia_server_replica_digest_comparisons_total',
      "State digests a follower compared with its leader's at one offset (ADR 0031); a difference also counts in oxia_server_replica_divergence_total{check=\"state_digest\"}",
      shard,
    ),
    newTermLeaseWait: m.histogram(
      'oxia_server_new_term_lease_wait_seconds',
      "How long NewTerm answers waited for the former leader's read lease to run out",
      shard,
    ),
  };
}

export class ShardMetrics {
  private readonly writeRequests: BoundCounter;
  private readonly puts: BoundCounter;
  private readonly deletes: BoundCounter;
  private readonly deleteRanges: BoundCounter;
  private readonly writeLatency: BoundHistogram;
  private readonly readRequests: BoundCounter;
  private readonly gets: BoundCounter;
  private readonly lists: BoundCounter;
  private readonly rangeScans: BoundCounter;
  private readonly readBytes: BoundCounter;
  private readonly readLatency: BoundHistogram;
  private readonly applyLatency: BoundHistogram;
  private readonly newTermLeaseWait: BoundHistogram;
  /** Cumulative reads and writes served by this replica as leader: GetStatus's ShardStats, which the auto split rates (ADR 0025). */
  private readsTotal = 0n;
  private writesTotal = 0n;

  private constructor(
    private readonly all: ReturnType<typeof instruments>,
    private readonly labels: Readonly<Record<string, string>>,
  ) {
    this.writeRequests = all.writeRequests.bind(labels);
    this.puts = all.dbPuts.bind(labels);
    this.deletes = all.dbDeletes.bind(labels);
    this.deleteRanges = all.dbDeleteRanges.bind(labels);
    this.writeLatency = all.writeLatency.bind(labels);
    this.readRequests = all.readRequests.bind(labels);
    this.gets = all.dbGets.bind(labels);
    this.lists = all.dbLists.bind(labels);
    this.rangeScans = all.dbRangeScans.bind(labels);
    this.readBytes = all.readBytes.bind(labels);
    this.readLatency = all.readLatency.bind(labels);
    this.applyLatency = all.applyLatency.bind(labels);
    this.newTermLeaseWait = all.newTermLeaseWait.bind(labels);
  }

  static of(metrics: Metrics, ref: ShardRef): ShardMetrics {
    return new ShardMetrics(instruments(metrics), shardLabels(ref));
  }

  /** A client write request was applied `elapsedMs` after the leader took it. */
  wrote(elapsedMs: number): void {
    this.writeRequests.inc();
    this.writeLatency.observe(elapsedMs);
  }

  /** The gets of one read request were served: `bytes` of values in `elapsedMs`. */
  read(gets: number, bytes: number, elapsedMs: number): void {
    this.readRequests.inc();
    this.readsTotal += BigInt(gets);
    if (gets > 0) this.gets.inc(gets);
    if (bytes > 0) this.readBytes.inc(bytes);
    this.readLatency.observe(elapsedMs / 1000);
  }

  listed(): void {
    this.readsTotal++;
    this.lists.inc();
  }

  scanned(bytes: number): void {
    this.readsTotal++;
    this.rangeScans.inc();
    if (bytes > 0) this.readBytes.inc(bytes);
  }

  /** Operations served since the replica opened (Oxia's ShardStats read_ops_total and write_ops_total). */
  opsTotals(): { readonly readOpsTotal: bigint; readonly writeOpsTotal: bigint } {
    return { readOpsTotal: this.readsTotal, writeOpsTotal: this.writesTotal };
  }

  /** A batch of committed entries was applied to the store in `elapsedMs`: its operations are counted. */
  applied(entries: readonly { readonly value: LogEntryValue }[], elapsedMs: number): void {
    let puts = 0;
    let deletes = 0;
    let deleteRanges = 0;
    for (const { value } of entries) {
      if (value.value?.$case !== 'requests') continue;
      for (const write of value.value.value.writes) {
        puts += write.puts.length;
        deletes += write.deletes.length;
        deleteRanges += write.deleteRanges.length;
      }
    }
    if (puts > 0) this.puts.inc(puts);
    if (deletes > 0) this.deletes.inc(deletes);
    if (deleteRanges > 0) this.deleteRanges.inc(deleteRanges);
    this.writesTotal += BigInt(puts + deletes + deleteRanges);
    this.applyLatency.observe(elapsedMs / 1000);
  }

  /** A read found the read lease lapsed; it was served after a renewal, or refused. */
  leaseWait(outcome: 'renewed' | 'refused'): void {
    this.all.leaseWaits.inc({ ...this.labels, outcome });
  }

  /** A NewTerm answer waited `elapsedMs` for a former leader's read lease. */
  leaseWaited(elapsedMs: number): void {
    this.newTermLeaseWait.observe(elapsedMs / 1000);
  }

  session(event: 'created' | 'closed' | 'expired'): void {
    this.all.sessions.inc({ ...this.labels, event });
  }

  snapshotCompleted(direction: Direction, bytes: number, elapsedMs: number): void {
    this.all.snapshots.inc({ ...this.labels, direction, outcome: 'completed' });
    this.all.snapshotLatency.observe({ ...this.labels, direction }, elapsedMs / 1000);
    this.snapshotBytes(direction, bytes);
  }

  /** A transfer failed after `bytes` had gone through. */
  snapshotFailed(direction: Direction, bytes: number): void {
    this.all.snapshots.inc({ ...this.labels, direction, outcome: 'failed' });
    this.snapshotBytes(direction, bytes);
  }

  /** The shard stopped writing (`reason` set), or writes again (undefined). */
  storageUnwritable(reason: StorageFailureReason | undefined, started = false): void {
    for (const r of STORAGE_FAILURE_REASONS) this.all.unwritable.set({ ...this.labels, reason: r }, r === reason ? 1 : 0);
    if (started && reason) this.all.unwritableEvents.inc({ ...this.labels, reason });
  }

  /** An integrity check found this replica (or, on a leader, a follower) to differ (ADR 0031). */
  diverged(check: IntegrityCheck): void {
    this.all.divergences.inc({ ...this.labels, check });
  }

  /** A follower compared its state digest with its leader's at one offset (ADR 0031). */
  digestCompared(): void {
    this.all.digestComparisons.inc(this.labels);
  }

  /** The shard left this node: its series are no longer exported. */
  remove(): void {
    const labels = this.labels;
    const a = this.all;
    for (const metric of [a.writeRequests, a.readRequests, a.readBytes, a.dbPuts, a.dbDeletes, a.dbDeleteRanges, a.dbGets, a.dbLists, a.dbRangeScans, a.digestComparisons]) {
      metric.remove(labels);
    }
    for (const metric of [a.writeLatency, a.readLatency, a.applyLatency, a.newTermLeaseWait]) metric.remove(labels);
    for (const outcome of ['renewed', 'refused']) a.leaseWaits.remove({ ...labels, outcome });
    for (const event of ['created', 'closed', 'expired']) a.sessions.remove({ ...labels, event });
    for (const reason of STORAGE_FAILURE_REASONS) {
      a.unwritable.remove({ ...labels, reason });
      a.unwritableEvents.remove({ ...labels, reason });
    }
    for (const check of INTEGRITY_CHECKS) a.divergences.remove({ ...labels, check });
    for (const direction of ['sent', 'received']) {
      for (const outcome of ['completed', 'failed']) a.snapshots.remove({ ...labels, direction, outcome });
      a.snapshotBytes.remove({ ...labels, direction });
      a.snapshotLatency.remove({ ...labels, direction });
    }
  }

  private snapshotBytes(direction: Direction, bytes: number): void {
    if (bytes > 0) this.all.snapshotBytes.inc({ ...this.labels, direction }, bytes);
  }
}
