import type { AppliedEntry, DatabaseConfig } from '../../domain/database/api.js';
import { readCommitState } from '../../domain/database/index.js';
import { OxiaError, isStorageFailure } from '../../domain/errors/oxia-error.js';
import { quorumCommitOffset } from '../../domain/replication/quorum.js';
import type { EntryId, LogEntry } from '../../domain/wal/log-entry.js';
import { LogEntryValue } from '../../domain/wire/storage.js';
import type { Clock } from '../ports/clock.js';
import type { KvStore } from '../ports/kv-store.js';
import type { Logger } from '../ports/logger.js';
import type { Wal } from '../ports/wal.js';
import { applyBatch, type DecodedEntry } from './apply-batch.js';
import { Broadcast } from './broadcast.js';
import type { DigestCheckpoint, DigestCheckpoints } from '../../domain/integrity/index.js';
import type { LogChain } from './log-chain.js';
import type { ShardMetrics } from './shard-metrics.js';
import { encodeMessage } from '../../domain/database/message-encoding.js';

/** Entries handed to the WAL in one append: one fsync covers them all. */
const APPEND_BATCH_ENTRIES_MAX = 1024;
/** Entries applied to the KV store in one atomic write. */
const APPLY_BATCH_ENTRIES_MAX = 256;
/** Proposals accepted but not yet applied; beyond this, writers wait (backpressure). */
const IN_FLIGHT_ENTRIES_MAX = 16_384;

interface Proposal {
  readonly entry: LogEntry;
  readonly value: LogEntryValue;
  resolve(applied: AppliedEntry): void;
  reject(error: unknown): void;
}

/** What the pipeline tells its owner after each applied batch. */
export interface ApplyListener {
  /** `batch[i]` is the entry `entries[i]` reports on. */
  onApplied(entries: readonly AppliedEntry[], batch: readonly DecodedEntry[]): void;
  /** The log or the store cannot take writes (disk full, I/O error): the pipeline has failed with `error`. */
  onStorageFailure?(error: OxiaError): void;
}

/**
 * A leader's write path for one shard: proposals get the next offset, are appended to
 * the WAL in order (one append, hence one fsync, in flight; whatever arrives meanwhile
 * goes into the next), commit once a quorum holds them durably, and are applied to the
 * KV store in offset order, several entries per atomic store write. A proposal resolves
 * only after its entry is applied, so an acknowledged write is both durable and visible
 * to reads.
 *
 * The quorum is the leader alone for a standalone node; replication feeds followers'
 * durable offsets through `onFollowerDurable`.
 */
export class LogPipeline {
  private readonly queue: Proposal[] = [];
  private readonly inFlight = new Map<bigint, Proposal>();
  private head: EntryId;
  private durableOffset: bigint;
  private commitOffset: bigint;
  private appliedOffset: bigint;
  private readonly followerDurable = new Map<string, bigint>();
  private appending = false;
  private applying = false;
  /** Holders of pauseApply(): while any, no batch starts applying. */
  private applyPauses = 0;
  private failure: OxiaError | undefined;
  /** Set by FreezeShard during a split: nothing new enters the log (ADR 0025). */
  private frozenReason: string | undefined;
  /** Set while the disk is below its free-space threshold: new entries are refused with it (ADR 0029). */
  private writeRefusal: OxiaError | undefined;
  private readonly drained = new Broadcast();
  /** Wakes readers that follow the applied state (notifications, sequence updates). */
  readonly applied = new Broadcast();
  /** Wakes replication cursors: a new entry was proposed, the commit offset moved or a digest checkpoint was taken. */
  readonly progress = new Broadcast();

  private constructor(
    private readonly wal: Wal,
    private readonly kv: KvStore,
    private readonly config: DatabaseConfig,
    private readonly term: bigint,
    private readonly replicationFactor: number,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly metrics: ShardMetrics,
    private readonly listener: ApplyListener,
    appliedOffset: bigint,
    private readonly chain: LogChain | undefined,
    /** This leader's digests at checkpoints (ADR 0031): cursors send the latest to followers. */
    private readonly checkpoints: DigestCheckpoints | undefined,
  ) {
    const walHead = wal.lastEntryId();
    // An empty log over a non-empty store (a snapshot was installed, or the log was
    // cleared): the log continues after the store's last applied entry.
    this.head = walHead.offset >= 0n ? walHead : { term: walHead.term, offset: appliedOffset };
    this.durableOffset = this.head.offset;
    this.appliedOffset = appliedOffset;
    this.commitOffset = appliedOffset;
    const chainHead = chain?.headOffset;
    if (chain?.alignTo(this.head.offset)) {
      log.info('CRC chain aligned with the log', {
        chainHead: String(chainHead),
        logHead: this.head.offset.toString(),
        known: chain.crcAt(this.head.offset) !== undefined,
      });
    }
  }

  /**
   * Opens the pipeline on a recovered WAL and store. For a node that is the whole
   * quorum (replication factor 1), every durable WAL entry was either acknowledged or
   * may have been, so all of them are committed and replayed into the store.
   */
  static async open(args: {
    wal: Wal;
    kv: KvStore;
    config: DatabaseConfig;
    term: bigint;
    replicationFactor: number;
    clock: Clock;
    log: Logger;
    metrics: ShardMetrics;
    listener: ApplyListener;
    /** The CRC chain of the log (ADR 0031), extended by every proposal; absent when nobody checks it (standalone). */
    chain?: LogChain | undefined;
    /** Where the digests at checkpoints go (ADR 0031); absent when nobody compares them (standalone). */
    checkpoints?: DigestCheckpoints | undefined;
  }): Promise<LogPipeline> {
    const { wal, kv, log } = args;
    const state = await readCommitState(kv);
    let walHead = wal.lastEntryId();
    if (walHead.offset < state.commitOffset) {
      // The store is ahead of the log (the log's tail was cut after a crash, or the log was
      // removed): the store already holds those entries, so the log restarts after them.
      log.warn('WAL is behind the KV store; restarting the log after the applied offset', {
        walHead: walHead.offset.toString(),
        commitOffset: state.commitOffset.toString(),
      });
      await wal.clear();
      walHead = wal.lastEntryId();
    }
    const pipeline = new LogPipeline(
      wal, kv, args.config, args.term, args.replicationFactor, args.clock, log, args.metrics, args.listener, state.commitOffset, args.chain, args.checkpoints,
    );
    if (walHead.offset >= 0n && wal.firstOffset() > state.commitOffset + 1n) {
      throw new Error(
        `WAL starts at ${wal.firstOffset()} but the store has applied only up to ${state.commitOffset}: entries are missing`,
      );
    }
    if (args.replicationFactor === 1) {
      pipeline.commitOffset = pipeline.head.offset;
      await pipeline.applyLoop();
      if (pipeline.failure) throw pipeline.failure;
    }
    return pipeline;
  }

  get headEntryId(): EntryId {
    return this.head;
  }

  get committedOffset(): bigint {
    return this.commitOffset;
  }

  get lastAppliedOffset(): bigint {
    return this.appliedOffset;
  }

  /** This leader's state digest at its latest checkpoint (ADR 0031), once it applied one. */
  get latestDigestCheckpoint(): DigestCheckpoint | undefined {
    return this.checkpoints?.latest;
  }

  /**
   * The entry at `offset` while this leader still holds it in memory (proposed and not
   * yet applied). Replication cursors send from here, so followers write an entry in
   * parallel with the leader's own fsync instead of after it.
   */
  entryInMemory(offset: bigint): LogEntry | undefined {
    return this.inFlight.get(offset)?.entry;
  }

  /** Resolves once every entry up to `offset` is applied; rejects if the pipeline fails or `signal` aborts. */
  async waitApplied(offset: bigint, signal?: AbortSignal): Promise<void> {
    for (;;) {
      if (this.failure) throw this.failure;
      if (this.appliedOffset >= offset) return;
      if (signal?.aborted) throw new OxiaError('Aborted', `gave up waiting for offset ${offset} to be applied`);
      await this.applied.wait(signal);
    }
  }

  get frozen(): boolean {
    return this.frozenReason !== undefined;
  }

  /**
   * Stops (or, with undefined, resumes) taking new entries. Entries proposed before go on
   * to commit; freezeHead() tells when the log is final.
   */
  setFrozen(reason: string | undefined): void {
    this.frozenReason = reason;
  }

  /**
   * Refuses new entries with `error` (undefined: takes them again), e.g. DiskFull when free
   * space fell below the threshold. Entries proposed before go on to commit.
   */
  refuseWrites(error: OxiaError | undefined): void {
    this.writeRefusal = error;
  }

  /**
   * Holds the store still: waits for the batch being applied, then keeps new batches
   * from starting until the returned function is called. A snapshot export scans the
   * store meanwhile, so it sees exactly the state at lastAppliedOffset. Commits go on;
   * only applying (hence acknowledging) waits.
   */
  async pauseApply(): Promise<() => void> {
    this.applyPauses++;
    while (this.applying) await this.drained.wait();
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      this.applyPauses--;
      if (this.applyPauses === 0) void this.applyLoop();
    };
  }

  /**
   * Appends a new entry whose value may depend on its offset (session ids are offsets),
   * and resolves with the result of applying it.
   */
  async propose(build: (offset: bigint) => LogEntryValue): Promise<AppliedEntry> {
    // Retryable for clients: after the split they are routed to a child instead.
    if (this.frozenReason !== undefined) throw new OxiaError('NodeIsNotLeader', this.frozenReason);
    if (this.writeRefusal) throw this.writeRefusal;
    while (this.inFlight.size + this.queue.length >= IN_FLIGHT_ENTRIES_MAX && !this.failure) {
      await this.drained.wait();
    }
    if (this.failure) throw this.failure;
    if (this.frozenReason !== undefined) throw new OxiaError('NodeIsNotLeader', this.frozenReason);
    const offset = this.head.offset + 1n;
    const value = build(offset);
    const entry: LogEntry = {
      term: this.term,
      offset,
      timestamp: BigInt(Math.trunc(this.clock.nowMs())),
      value: encodeMessage(LogEntryValue, value),
    };
    this.head = { term: this.term, offset };
    this.chain?.append(entry);
    return new Promise<AppliedEntry>((resolve, reject) => {
      const proposal: Proposal = { entry, value, resolve, reject };
      this.queue.push(proposal);
      this.inFlight.set(offset, proposal);
      void this.appendLoop();
      this.progress.notify();
    });
  }

  /** A follower reports the highest offset it holds durably (cumulative ack). */
  onFollowerDurable(follower: string, offset: bigint): void {
    const previous = this.followerDurable.get(follower) ?? -1n;
    if (offset > previous) this.followerDurable.set(follower, offset);
    this.advanceCommit();
  }

  /** Stops accepting proposals; fails those still in flight. Idempotent. */
  fail(error: OxiaError): void {
    if (this.failure) return;
    this.failure = error;
    for (const p of this.inFlight.values()) p.reject(error);
    this.inFlight.clear();
    this.queue.length = 0;
    this.drained.notify();
    this.applied.notify();
    this.progress.notify();
  }

  /** Waits until nothing is being appended or applied (used by close). */
  async quiesce(): Promise<void> {
    while (this.appending || this.applying) await this.drained.wait();
  }

  get failed(): OxiaError | undefined {
    return this.failure;
  }

  private async appendLoop(): Promise<void> {
    if (this.appending) return;
    this.appending = true;
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue.splice(0, APPEND_BATCH_ENTRIES_MAX);
        await this.wal.append(batch.map((p) => p.entry));
        const last = batch[batch.length - 1];
        if (last) this.durableOffset = last.entry.offset;
        this.advanceCommit();
      }
    } catch (e) {
      this.log.error('WAL append failed; the shard stops accepting writes', { error: String(e) });
      this.failOn(e, 'write-ahead log append failed');
    } finally {
      this.appending = false;
      this.drained.notify();
    }
  }

  /** Fails the pipeline after an I/O error; a storage failure keeps its kind and tells the listener. */
  private failOn(e: unknown, what: string): void {
    if (!isStorageFailure(e)) {
      this.fail(new OxiaError('ResourceUnavailable', `${what}: ${String(e)}`));
      return;
    }
    const first = this.failure === undefined;
    this.fail(e);
    if (first) this.listener.onStorageFailure?.(e);
  }

  private advanceCommit(): void {
    const offsets = [this.durableOffset, ...this.followerDurable.values()];
    // The leader counts itself only once its own copy is durable: an entry is then never
    // applied (and dropped from memory) before this leader's log can serve it to followers.
    const quorum = minBigint(quorumCommitOffset(offsets, this.replicationFactor), this.durableOffset);
    if (quorum > this.commitOffset) {
      this.commitOffset = quorum;
      this.progress.notify();
      void this.applyLoop();
    }
  }

  private async applyLoop(): Promise<void> {
    if (this.applying || this.applyPauses > 0) return;
    this.applying = true;
    try {
      while (this.appliedOffset < this.commitOffset && !this.failure && this.applyPauses === 0) {
        const end = minBigint(this.commitOffset, this.appliedOffset + BigInt(APPLY_BATCH_ENTRIES_MAX));
        const batch: DecodedEntry[] = [];
        const proposals: Array<Proposal | undefined> = [];
        for await (const { entry, value, proposal } of this.committedEntries(this.appliedOffset + 1n, end)) {
          batch.push({ entry, value });
          proposals.push(proposal);
        }
        const applyStartedMs = this.clock.monotonicMs();
        const chain = this.chain;
        const checkpoints = this.checkpoints;
        let checkpointTaken = false;
        const results = await applyBatch(this.kv, this.config, batch, undefined, chain && {
          chainCrcAt: (offset) => chain.crcAt(offset),
          onRecord: (record) => {
            // The bytes applied (from memory or read back from the WAL) must chain as proposed.
            const proposed = chain.crcAt(record.offset);
            if (record.crc !== undefined && proposed !== undefined && record.crc !== proposed) {
              this.metrics.diverged('log_chain');
              throw new OxiaError('ReplicaDiverged', `entry ${record.offset} applied with CRC chain ${record.crc}, proposed with ${proposed}`);
            }
            if (checkpoints?.record(record.offset, record.digest)) checkpointTaken = true;
          },
        });
        this.metrics.applied(batch, this.clock.monotonicMs() - applyStartedMs);
        this.appliedOffset = end;
        results.forEach((applied, i) => {
          const proposal = proposals[i];
          if (!proposal) return;
          this.inFlight.delete(proposal.entry.offset);
          proposal.resolve(applied);
        });
        this.listener.onApplied(results, batch);
        this.applied.notify();
        // Cursors send a new checkpoint with their next message, also when idle at the head.
        if (checkpointTaken) this.progress.notify();
        this.drained.notify();
      }
    } catch (e) {
      this.log.error('applying committed entries failed; the shard stops accepting writes', { error: String(e) });
      this.failOn(e, 'applying to the key-value store failed');
    } finally {
      this.applying = false;
      this.drained.notify();
    }
  }

  /**
   * Committed entries from..to in order: from memory when this leader proposed them,
   * otherwise from the WAL (recovery, or entries of an earlier term a new leader commits).
   */
  private async *committedEntries(
    from: bigint,
    to: bigint,
  ): AsyncIterable<{ entry: LogEntry; value: LogEntryValue; proposal?: Proposal }> {
    let offset = from;
    while (offset <= to) {
      const proposal = this.inFlight.get(offset);
      if (proposal) {
        yield { entry: proposal.entry, value: proposal.value, proposal };
        offset++;
        continue;
      }
      const before = offset;
      for await (const entry of this.wal.read(offset)) {
        if (entry.offset > to || this.inFlight.has(entry.offset)) break;
        if (entry.offset !== offset) throw new Error(`WAL returned offset ${entry.offset} where ${offset} was expected`);
        yield { entry, value: LogEntryValue.decode(entry.value) };
        offset++;
      }
      if (offset === before) throw new Error(`committed entry ${offset} is neither in memory nor in the WAL`);
    }
  }
}

function minBigint(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
