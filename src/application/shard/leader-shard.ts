import type { AppliedEntry, DatabaseConfig } from '../../domain/database/api.js';
import {
  get,
  getNow,
  highestSequenceKey,
  list,
  rangeScan,
  readNotifications,
  validateRange,
  validateReadRequest,
  validateWriteRequest,
} from '../../domain/database/index.js';
import type { RequestLimits } from '../../domain/database/limits.js';
import type { KeySorting } from '../../domain/sharding/namespace.js';
import { OxiaError, invalidArgument, isStorageFailure } from '../../domain/errors/oxia-error.js';
import type {
  GetResponse,
  GetSequenceUpdatesResponse,
  ListRequest,
  ListResponse,
  NotificationBatch,
  RangeScanRequest,
  RangeScanResponse,
  ReadRequest,
  ReadResponse,
  WriteRequest,
  WriteResponse,
} from '../../domain/wire/client.js';
import type { Clock } from '../ports/clock.js';
import type { KvStore } from '../ports/kv-store.js';
import type { Logger } from '../ports/logger.js';
import type { ShardRef } from '../ports/shard-ref.js';
import type { Wal } from '../ports/wal.js';
import { READ_LEASE_TIMING } from '../../domain/replication/read-lease.js';
import { DigestCheckpoints } from '../../domain/integrity/index.js';
import type { LogChain } from './log-chain.js';
import { LogPipeline } from './log-pipeline.js';
import { ReadLease } from './read-lease.js';
import { SessionManager } from './session-manager.js';
import type { ShardMetrics } from './shard-metrics.js';
import { walEntryCount } from './wal-entry-count.js';
import { applyRetention } from './retention.js';
import { readShardCopy } from './shard-copy.js';
import type { DecodedEntry } from './apply-batch.js';

/** Hears applied entries: `batch[i]` is the entry `entries[i]` reports on. */
export type AppliedListener = (entries: readonly AppliedEntry[], batch: readonly DecodedEntry[]) => void;
import type { ReadShardResponse } from '../../domain/wire/backup.js';

/** Keys per ListResponse message and records per RangeScanResponse/ReadResponse message. */
const KEYS_PER_MESSAGE_MAX = 1000;
const RECORDS_PER_MESSAGE_MAX = 100;
/** Bytes of values per streamed message, so that one message stays well under gRPC limits. */
const BYTES_PER_MESSAGE_MAX = 1024 * 1024;

export interface LeaderShardDeps {
  readonly wal: Wal;
  readonly kv: KvStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: ShardMetrics;
  /** The log or the store cannot take writes (disk full, I/O error): the write path has failed with `error`. */
  readonly onStorageFailure?: (error: OxiaError) => void;
  /** The CRC chain of the shard's log (ADR 0031), when replicated: cursors send it to followers. */
  readonly chain?: LogChain;
  /** Entries between the state digest checkpoints sent to followers (ADR 0031); absent or 0: none. */
  readonly digestCheckpointEntries?: number;
}

/**
 * One shard led by this node: its write pipeline, its sessions, and reads of its
 * applied state. Reads see exactly the acknowledged writes, since a write is
 * acknowledged only once applied, and are served only while the read lease holds
 * (no newer leader can have taken writes: read-lease.ts).
 */
export class LeaderShard {
  private readonly sessions: SessionManager;
  private pipeline!: LogPipeline;
  private lease!: ReadLease;
  private closing = false;
  private readonly appliedListeners = new Set<AppliedListener>();

  private constructor(
    readonly ref: ShardRef,
    private readonly config: DatabaseConfig,
    private readonly limits: RequestLimits,
    private readonly deps: LeaderShardDeps,
  ) {
    this.sessions = new SessionManager((build) => this.pipeline.propose(build), deps.clock, deps.log, deps.metrics);
  }

  /**
   * Opens the write path of a shard this node was elected to lead in `term` (already
   * persisted by NewTerm). With followers, entries already in the log commit once a
   * quorum acknowledges them (feed acks to `pipeline.onFollowerDurable`); call
   * startSessions() once they are applied, then serve.
   */
  static async openReplicated(
    ref: ShardRef,
    config: DatabaseConfig,
    limits: RequestLimits,
    deps: LeaderShardDeps,
    election: { readonly term: bigint; readonly replicationFactor: number },
  ): Promise<LeaderShard> {
    const shard = new LeaderShard(ref, config, limits, deps);
    shard.lease = new ReadLease(election.replicationFactor, READ_LEASE_TIMING, deps.clock);
    shard.pipeline = await LogPipeline.open({
      wal: deps.wal,
      kv: deps.kv,
      config,
      term: election.term,
      replicationFactor: election.replicationFactor,
      clock: deps.clock,
      log: deps.log,
      metrics: deps.metrics,
      chain: deps.chain,
      checkpoints: deps.digestCheckpointEntries ? new DigestCheckpoints(deps.digestCheckpointEntries) : undefined,
      listener: { onApplied: (entries, batch) => shard.onApplied(entries, batch), onStorageFailure: (error) => deps.onStorageFailure?.(error) },
    });
    return shard;
  }

  /**
   * Hears every entry applied from now on, with what the state machine reported for it (a
   * split's observer feed, ADR 0025); returns the unsubscribe function. Called in the apply
   * path: a listener only takes note.
   */
  onEntriesApplied(listener: AppliedListener): () => void {
    this.appliedListeners.add(listener);
    return () => this.appliedListeners.delete(listener);
  }

  /** The sessions recorded in the store become live (each with a full timeout). */
  async startSessions(): Promise<void> {
    await this.sessions.recover(this.deps.kv);
  }

  /** The write path, for replication cursors (acks, commit offset, entries to send). */
  get logPipeline(): LogPipeline {
    return this.pipeline;
  }

  get committedOffset(): bigint {
    return this.pipeline.committedOffset;
  }

  /** The read lease, which replication cursors renew with their followers' echoes. */
  get readLease(): ReadLease {
    return this.lease;
  }

  /** Sessions alive on this leader, for metrics. */
  get sessionCount(): number {
    return this.sessions.liveCount;
  }

  /** The store's approximate size on disk, for metrics. */
  storeSizeBytes(): Promise<bigint> {
    return this.deps.kv.sizeBytes();
  }

  /** Entries its log holds (for metrics). */
  get walEntries(): bigint {
    return walEntryCount(this.deps.wal);
  }

  async write(request: WriteRequest): Promise<WriteResponse> {
    this.assertServing();
    validateWriteRequest(request, this.limits, this.config);
    const startedMs = this.deps.clock.monotonicMs();
    const applied = await this.pipeline.propose(() => ({
      value: { $case: 'requests', value: { writes: [request] } },
    }));
    // A request the state machine refused as a whole (e.g. a sequence put that does not fit
    // the existing sequence) changed nothing and fails like Oxia's server fails it.
    const refused = applied.errors[0];
    if (refused) throw refused;
    const response = applied.responses[0];
    if (!response) throw new Error('bug: an applied write entry produced no response');
    this.deps.metrics.wrote(this.deps.clock.monotonicMs() - startedMs);
    return response;
  }

  async *read(request: ReadRequest, signal: AbortSignal): AsyncIterable<ReadResponse> {
    this.assertReadable();
    if (!this.lease.holds()) await this.awaitLease(signal);
    validateReadRequest(request, this.limits);
    const startedMs = this.deps.clock.monotonicMs();
    let gets: GetResponse[] = [];
    let bytes = 0;
    let bytesSent = 0;
    for (const g of request.gets) {
      if (signal.aborted) return;
      // Point reads are answered synchronously when the store can (no promise per key).
      const response = getNow(this.deps.kv, g, this.config) ?? (await get(this.deps.kv, g, this.config));
      gets.push(response);
      bytes += response.value?.length ?? 0;
      if (gets.length >= RECORDS_PER_MESSAGE_MAX || bytes >= BYTES_PER_MESSAGE_MAX) {
        yield { gets };
        gets = [];
        bytesSent += bytes;
        bytes = 0;
      }
    }
    // Recorded before the last message goes out: that wait is the client's, not the read's.
    this.deps.metrics.read(request.gets.length, bytesSent + bytes, this.deps.clock.monotonicMs() - startedMs);
    if (gets.length > 0 || request.gets.length === 0) yield { gets };
  }

  async *list(request: ListRequest, signal: AbortSignal): AsyncIterable<ListResponse> {
    this.assertReadable();
    if (!this.lease.holds()) await this.awaitLease(signal);
    const query = this.rangeQuery(request);
    let keys: string[] = [];
    for await (const key of list(this.deps.kv, query, this.config)) {
      if (signal.aborted) return;
      keys.push(key);
      if (keys.length >= KEYS_PER_MESSAGE_MAX) {
        yield { keys };
        keys = [];
      }
    }
    this.deps.metrics.listed();
    yield { keys };
  }

  /**
   * A backup's copy of the shard (ADR 0030): its records as of one committed offset, read from
   * a snapshot of the store while writes go on. Served under the read lease like every read, so
   * no newer leader can have acknowledged writes the copy lacks when it starts.
   */
  async *copy(includeEphemeral: boolean, signal: AbortSignal): AsyncIterable<ReadShardResponse> {
    this.assertServing();
    if (!this.lease.holds()) await this.awaitLease(signal);
    yield* readShardCopy(this.deps.kv, this.config, includeEphemeral, signal);
  }

  async *rangeScan(request: RangeScanRequest, signal: AbortSignal): AsyncIterable<RangeScanResponse> {
    this.assertReadable();
    if (!this.lease.holds()) await this.awaitLease(signal);
    const query = this.rangeQuery(request);
    let records: GetResponse[] = [];
    let bytes = 0;
    let bytesSent = 0;
    for await (const record of rangeScan(this.deps.kv, query, this.config)) {
      if (signal.aborted) return;
      records.push(record);
      bytes += record.value?.length ?? 0;
      if (records.length >= RECORDS_PER_MESSAGE_MAX || bytes >= BYTES_PER_MESSAGE_MAX) {
        yield { records };
        records = [];
        bytesSent += bytes;
        bytes = 0;
      }
    }
    this.deps.metrics.scanned(bytesSent + bytes);
    yield { records };
  }

  /**
   * Notification batches after `startOffsetExclusive` (or, when absent, from now on),
   * then each new one as it is applied, until `signal` aborts or the shard closes.
   */
  async *notifications(startOffsetExclusive: bigint | undefined, signal: AbortSignal): AsyncIterable<NotificationBatch> {
    this.assertReadable();
    if (!this.lease.holds()) await this.awaitLease(signal);
    if (!this.config.notificationsEnabled) {
      throw new OxiaError('NotificationsNotEnabled', `notifications are not enabled on namespace ${this.ref.namespace}`);
    }
    let last = startOffsetExclusive;
    if (last === undefined) {
      // As Oxia does: a stream opened "from now" first gets an empty batch carrying the
      // current offset, so the client knows where it is positioned (and can resume there).
      last = this.pipeline.lastAppliedOffset;
      yield { shard: this.ref.shard, offset: last, timestamp: 0n, notifications: [] };
    }
    while (!signal.aborted && !this.closing) {
      // Registered before reading, so an entry applied while we read still wakes us.
      const next = this.pipeline.applied.wait(signal);
      for await (const batch of readNotifications(this.deps.kv, last)) {
        if (signal.aborted) return;
        yield batch;
        last = batch.offset;
      }
      await next;
      this.assertReadable();
    }
  }

  /**
   * The highest key under a sequence prefix now, then each time it changes. Re-read from
   * the store after each applied batch: one bounded reverse lookup, and never stale.
   */
  async *sequenceUpdates(prefixKey: string, signal: AbortSignal): AsyncIterable<GetSequenceUpdatesResponse> {
    this.assertReadable();
    if (!this.lease.holds()) await this.awaitLease(signal);
    if (prefixKey.length === 0) throw invalidArgument('GetSequenceUpdates needs a key: the sequence prefix');
    let lastSent: string | undefined;
    while (!signal.aborted && !this.closing) {
      const next = this.pipeline.applied.wait(signal);
      const highest = await highestSequenceKey(this.deps.kv, prefixKey, this.config);
      if (highest !== undefined && highest !== lastSent) {
        yield { highestSequenceKey: highest };
        lastSent = highest;
      }
      await next;
      this.assertReadable();
    }
  }

  createSession(timeoutMs: number, clientIdentity: string, owner?: string): Promise<bigint> {
    this.assertServing();
    return this.sessions.create(timeoutMs, clientIdentity, owner);
  }

  keepAlive(sessionId: bigint, caller?: string): void {
    this.assertServing();
    this.sessions.keepAlive(sessionId, caller);
  }

  closeSession(sessionId: bigint, caller?: string): Promise<void> {
    this.assertServing();
    return this.sessions.close(sessionId, caller);
  }

  /** The key order of the shard's namespace (authorization checks ranges in it). */
  get keySorting(): KeySorting {
    return this.config.keySorting;
  }

  /** Drops WAL segments and notification batches past their retention (never unapplied entries). */
  async applyRetention(walRetentionMs: number, notificationsRetentionMs: number): Promise<void> {
    if (this.closing) return;
    await applyRetention({
      wal: this.deps.wal,
      kv: this.deps.kv,
      nowMs: this.deps.clock.nowMs(),
      appliedOffset: this.pipeline.lastAppliedOffset,
      walRetentionMs,
      notificationsRetentionMs: this.config.notificationsEnabled ? notificationsRetentionMs : undefined,
      open: () => !this.closing,
    });
  }

  /** Finishes in-flight writes, stops sessions' timers and closes the log and store. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.lease.end(new OxiaError('Closed', `shard ${this.ref.shard} is closing`));
    this.sessions.shutdown();
    await this.pipeline.quiesce();
    this.pipeline.fail(new OxiaError('Closed', `shard ${this.ref.shard} is closing`));
    this.pipeline.applied.notify();
    await this.deps.wal.close();
    await this.deps.kv.close();
  }

  /**
   * Leadership is over (fenced by a newer term, or the node is closing): writes still
   * waiting for a quorum fail with `error`, streams end with it, session timers stop.
   * The log and store stay open for whatever role the replica takes next.
   */
  async stop(error: OxiaError): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.lease.end(error);
    this.sessions.shutdown();
    this.pipeline.fail(error);
    await this.pipeline.quiesce();
    this.pipeline.applied.notify();
  }

  private onApplied(entries: readonly AppliedEntry[], batch: readonly DecodedEntry[]): void {
    this.sessions.onApplied(entries);
    for (const listener of this.appliedListeners) listener(entries, batch);
  }

  private rangeQuery(request: ListRequest | RangeScanRequest) {
    const query = {
      startInclusive: request.startInclusive,
      endExclusive: request.endExclusive,
      secondaryIndexName: request.secondaryIndexName,
      includeInternalKeys: request.includeInternalKeys,
    };
    validateRange(query, this.limits, this.config);
    return query;
  }

  /**
   * The lease lapsed (no quorum echoed a probe lately): wait for a renewal, at most one lease
   * period. A leader that was replaced never gets one, and the read fails with NodeIsNotLeader.
   */
  private async awaitLease(signal: AbortSignal): Promise<void> {
    try {
      await this.lease.awaitHeld(READ_LEASE_TIMING.leaseMs, signal, this.ref.shard);
      this.deps.metrics.leaseWait('renewed');
    } catch (e) {
      this.deps.metrics.leaseWait('refused');
      throw e;
    }
  }

  /**
   * Reads go on while the write path failed on storage (disk full, I/O error): the store still
   * holds exactly what was applied, which is every acknowledged write (ADR 0029). Notification
   * and sequence streams stay open meanwhile, and end when the shard closes to reopen its files.
   */
  private assertReadable(): void {
    if (this.closing) throw new OxiaError('Closed', `shard ${this.ref.shard} is closing`);
    const failed = this.pipeline.failed;
    if (failed && !isStorageFailure(failed)) throw failed;
  }

  private assertServing(): void {
    if (this.closing) throw new OxiaError('Closed', `shard ${this.ref.shard} is closing`);
    const failed = this.pipeline.failed;
    if (failed) throw failed;
  }
}
