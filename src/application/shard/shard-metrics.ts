/**
 * The metrics one shard replica records as it works: client writes and reads (on the
 * leader), applying committed entries, sessions and snapshot transfers. Every series is
 * bound to the shard's labels once, when the shard opens, and recorded per request, per
 * batch or per transfer, never per key: the data path runs at tens of thousands of
 * operations per second. Offsets, roles, follower lag and sizes are not recorded here;
 * NodeMetrics reads them at scrape time.
 */
import type { WriteRequest } from '../../domain/wire/client.js';
import type { BoundCounter, BoundHistogram, Metrics } from '../ports/metrics.js';
import type { ShardRef } from '../ports/shard-ref.js';

/** Labels of every per-shard series; `oxia_namespace` as Oxia's (`namespace` is the Kubernetes one). */
export const SHARD_LABELS = ['oxia_namespace', 'shard'] as const;

export function shardLabels(ref: ShardRef): { oxia_namespace: string; shard: string } {
  return { oxia_namespace: ref.namespace, shard: ref.shard.toString() };
}

type Direction = 'sent' | 'received';

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
    writeOps: m.counter('oxia_server_write_ops_total', 'Operations in the client write requests applied by the leader, by op (put, delete, delete_range)', [...shard, 'op']),
    writeLatency: m.histogram(
      'oxia_server_write_latency_seconds',
      'Time from the leader taking a client write request to its entry being committed and applied',
      shard,
    ),
    readRequests: m.counter('oxia_server_read_requests_total', 'Client read requests (batches of gets) served by the leader', shard),
    readOps: m.counter('oxia_server_read_ops_total', 'Client read operations served by the leader, by op (get, list, range_scan)', [...shard, 'op']),
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
    divergences: m.counter(
      'oxia_server_replica_divergence_total',
      'Replicas found to differ from their leader, by the check that found it (log_chain, state_digest, stored_digest); each one is rebuilt from a snapshot',
      [...shard, 'check'],
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

  private constructor(
    private readonly all: ReturnType<typeof instruments>,
    private readonly labels: Readonly<Record<string, string>>,
  ) {
    const op = (name: string) => ({ ...labels, op: name });
    this.writeRequests = all.writeRequests.bind(labels);
    this.puts = all.writeOps.bind(op('put'));
    this.deletes = all.writeOps.bind(op('delete'));
    this.deleteRanges = all.writeOps.bind(op('delete_range'));
    this.writeLatency = all.writeLatency.bind(labels);
    this.readRequests = all.readRequests.bind(labels);
    this.gets = all.readOps.bind(op('get'));
    this.lists = all.readOps.bind(op('list'));
    this.rangeScans = all.readOps.bind(op('range_scan'));
    this.readBytes = all.readBytes.bind(labels);
    this.readLatency = all.readLatency.bind(labels);
    this.applyLatency = all.applyLatency.bind(labels);
    this.newTermLeaseWait = all.newTermLeaseWait.bind(labels);
  }

  static of(metrics: Metrics, ref: ShardRef): ShardMetrics {
    return new ShardMetrics(instruments(metrics), shardLabels(ref));
  }

  /** A client write request was applied `elapsedMs` after the leader took it. */
  wrote(request: WriteRequest, elapsedMs: number): void {
    this.writeRequests.inc();
    if (request.puts.length > 0) this.puts.inc(request.puts.length);
    if (request.deletes.length > 0) this.deletes.inc(request.deletes.length);
    if (request.deleteRanges.length > 0) this.deleteRanges.inc(request.deleteRanges.length);
    this.writeLatency.observe(elapsedMs / 1000);
  }

  /** The gets of one read request were served: `bytes` of values in `elapsedMs`. */
  read(gets: number, bytes: number, elapsedMs: number): void {
    this.readRequests.inc();
    if (gets > 0) this.gets.inc(gets);
    if (bytes > 0) this.readBytes.inc(bytes);
    this.readLatency.observe(elapsedMs / 1000);
  }

  listed(): void {
    this.lists.inc();
  }

  scanned(bytes: number): void {
    this.rangeScans.inc();
    if (bytes > 0) this.readBytes.inc(bytes);
  }

  applied(elapsedMs: number): void {
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

  /** An integrity check found this replica (or, on a leader, a follower) to differ (ADR 0031). */
  diverged(check: IntegrityCheck): void {
    this.all.divergences.inc({ ...this.labels, check });
  }

  /** The shard left this node: its series are no longer exported. */
  remove(): void {
    const labels = this.labels;
    const a = this.all;
    for (const metric of [a.writeRequests, a.readRequests, a.readBytes]) metric.remove(labels);
    for (const metric of [a.writeLatency, a.readLatency, a.applyLatency, a.newTermLeaseWait]) metric.remove(labels);
    for (const outcome of ['renewed', 'refused']) a.leaseWaits.remove({ ...labels, outcome });
    for (const op of ['put', 'delete', 'delete_range']) a.writeOps.remove({ ...labels, op });
    for (const op of ['get', 'list', 'range_scan']) a.readOps.remove({ ...labels, op });
    for (const event of ['created', 'closed', 'expired']) a.sessions.remove({ ...labels, event });
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
