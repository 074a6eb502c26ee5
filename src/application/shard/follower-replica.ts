import type { DatabaseConfig } from '../../domain/database/api.js';
import { readCommitState } from '../../domain/database/index.js';
import { OxiaError, isOxiaError, isStorageFailure } from '../../domain/errors/oxia-error.js';
import { type DigestCheckpoint, DigestCheckpoints } from '../../domain/integrity/index.js';
import type { EntryId, LogEntry } from '../../domain/wal/log-entry.js';
import { LogEntryValue } from '../../domain/wire/storage.js';
import type { Clock } from '../ports/clock.js';
import type { KvStore } from '../ports/kv-store.js';
import type { Logger } from '../ports/logger.js';
import type { AckSender, AppendMessage } from '../ports/replication-client.js';
import type { Wal } from '../ports/wal.js';
import { untilAborted } from './abortable.js';
import { applyBatch, type DecodedEntry } from './apply-batch.js';
import { Broadcast } from './broadcast.js';
import type { LogChain } from './log-chain.js';
import type { IntegrityCheck, ShardMetrics } from './shard-metrics.js';

/** Entries applied to the store in one atomic write. */
const APPLY_BATCH_ENTRIES_MAX = 256;
/**
 * Bounds on received entries kept in memory until applied. Beyond them (commits far
 * behind, e.g. no quorum, or a catch-up whose appends outrun its applies) new entries
 * are applied from the WAL instead, as before. Applying takes 256 entries at a time, so
 * 16 MiB is ample lookahead; it is also what every shard replica of a node catching up
 * may hold at once.
 */
const KEPT_ENTRIES_MAX = 16_384;
const KEPT_BYTES_MAX = 16 * 1024 * 1024;

export interface FollowerReplicaDeps {
  readonly wal: Wal;
  readonly kv: KvStore;
  /** The current term's database settings (NewTerm may change them between streams). */
  readonly config: () => DatabaseConfig;
  readonly log: Logger;
  readonly clock: Clock;
  readonly metrics: ShardMetrics;
  /** The log or the store cannot take writes (disk full, I/O error); called once, after the replica failed. */
  readonly onStorageFailure?: (error: OxiaError) => void;
  /** The CRC chain of this replica's log (ADR 0031), kept by the shard across activities. */
  readonly chain: LogChain;
  /** Entries between the state digest checkpoints this replica keeps (ADR 0031); 0: none kept. */
  readonly digestCheckpointEntries: number;
}

interface ActiveStream {
  readonly abort: AbortController;
  readonly done: Promise<void>;
  readonly sendAck: AckSender;
}

/**
 * A shard replica that is not leading: it takes the leader's entries from a Replicate
 * stream into its WAL, acknowledges them cumulatively once durable, and applies them
 * to its store up to the leader's commit offset, so that it can take over quickly.
 *
 * Appends are handed to the WAL as they arrive, without waiting for earlier ones: the
 * WAL gathers them into group-commit rounds (one fsync for many entries), and every
 * round that completes yields one ack for the highest durable offset.
 */
export class FollowerReplica {
  /** Highest offset handed to the WAL (durable or not yet). */
  private lastAppended: bigint;
  /** Highest offset durable in the WAL. */
  private durable: bigint;
  private applied: bigint;
  /** The leader's commit offset as last advertised. */
  private advertisedCommit: bigint;
  private pendingAppends = 0;
  private applying = false;
  /** Entries received in this turn of the event loop, not yet handed to the WAL (see appendReceived). */
  private toAppend: LogEntry[] = [];
  /** An applyLoop is due on the next turn of the event loop (see applySoon). */
  private applyScheduled = false;
  private ackScheduled = false;
  private lastAckSent = -1n;
  private reAck = false;
  /** The newest lease probe received and not yet echoed. */
  private pendingEcho: number | undefined;
  private stream: ActiveStream | undefined;
  private failure: OxiaError | undefined;
  private readonly idle = new Broadcast();
  /**
   * Entries received and not yet applied, by offset: applying takes them from here
   * instead of reading back from the WAL what just arrived. Only ever a copy of what
   * the WAL holds (cleared on truncation), so either source gives the same entries.
   */
  private readonly kept = new Map<bigint, LogEntry>();
  private keptBytes = 0;
  /** This replica's state digests at checkpoints, for the leader's to be compared with (ADR 0031). */
  private readonly checkpoints: DigestCheckpoints;
  /** The leader's latest checkpoint, received before this replica applied its offset: compared at that apply. */
  private leaderCheckpoint: DigestCheckpoint | undefined;

  private constructor(
    private readonly deps: FollowerReplicaDeps,
    applied: bigint,
  ) {
    const walHead = deps.wal.lastEntryId();
    this.checkpoints = new DigestCheckpoints(deps.digestCheckpointEntries);
    this.applied = applied;
    // After a snapshot the log is empty and continues after the store's last entry.
    this.lastAppended = walHead.offset >= 0n ? walHead.offset : applied;
    this.durable = this.lastAppended;
    this.advertisedCommit = applied;
    const chainHead = deps.chain.headOffset;
    if (deps.chain.alignTo(this.lastAppended)) {
      deps.log.info('CRC chain aligned with the log', {
        chainHead: chainHead.toString(),
        logHead: this.lastAppended.toString(),
        known: deps.chain.crcAt(this.lastAppended) !== undefined,
      });
    }
  }

  static async open(deps: FollowerReplicaDeps): Promise<FollowerReplica> {
    const state = await readCommitState(deps.kv);
    return new FollowerReplica(deps, state.commitOffset);
  }

  /** What this replica holds: the newest entry in its log, else the store's last applied entry. */
  headEntryId(): EntryId {
    const walHead = this.deps.wal.lastEntryId();
    return walHead.offset >= 0n ? walHead : { term: walHead.term, offset: this.applied };
  }

  get headOffset(): bigint {
    return this.lastAppended;
  }

  get appliedOffset(): bigint {
    return this.applied;
  }

  /**
   * Serves one Replicate stream of the leader of `term` until the leader ends it, the
   * stream fails, `signal` aborts or stop() is called. A newer stream takes over from
   * an older one still open (the leader reconnected before we noticed the old one die).
   * Rejects with InvalidTerm on an append of another term, and on a gap in offsets.
   * `onLeaderMessage` hears of every message accepted from the leader, before it is answered
   * (`leaseProbe`: it carried a read-lease probe, which is echoed at once).
   */
  async serve(
    term: bigint,
    appends: AsyncIterable<AppendMessage>,
    sendAck: AckSender,
    signal: AbortSignal,
    onLeaderMessage: (leaseProbe: boolean) => void,
  ): Promise<void> {
    await this.endStream();
    if (this.failure) throw this.failure;
    const abort = new AbortController();
    const onCallEnd = (): void => abort.abort();
    signal.addEventListener('abort', onCallEnd, { once: true });
    if (signal.aborted) abort.abort();
    let finished!: () => void;
    const stream: ActiveStream = { abort, done: new Promise<void>((r) => (finished = r)), sendAck };
    this.stream = stream;
    // A reconnecting leader learns at once what we already hold.
    this.lastAckSent = -1n;
    this.pendingEcho = undefined;
    this.scheduleAck();
    const iterator = appends[Symbol.asyncIterator]();
    let refused = false;
    try {
      for (;;) {
        const next = await untilAborted(
          iterator.next(),
          abort.signal,
          () => this.failure ?? new OxiaError('Aborted', 'the replication stream was taken over, fenced or closed'),
        );
        if (next.done) return;
        try {
          this.receive(term, next.value, onLeaderMessage);
        } catch (error) {
          refused = true;
          throw error;
        }
      }
    } finally {
      signal.removeEventListener('abort', onCallEnd);
      if (this.stream === stream) this.stream = undefined;
      // A refused message ends the call with our error, which the transport must still be able
      // to send: returning the iterator of a gRPC call destroys it, and the leader would never
      // hear why (its stream would just hang).
      // The same for a replica that found its copy diverged while applying (ADR 0031): its leader
      // must hear it, to send a snapshot at once.
      if (!refused && !isOxiaError(this.failure, 'ReplicaDiverged')) void iterator.return?.()?.catch(() => undefined);
      finished();
    }
  }

  /**
   * Drops every entry after `offset` (a new leader's log diverged from ours there) and
   * returns the new head. Applied entries are committed, hence in every later leader's
   * log: they are kept even when the leader asks for less (it asks for less only when it
   * no longer has the entries that would show where we agree).
   */
  async truncate(offset: bigint): Promise<EntryId> {
    await this.stop();
    if (offset < this.applied) {
      this.deps.log.info('truncation point is below the applied offset; keeping the committed entries', {
        requested: offset.toString(),
        applied: this.applied.toString(),
      });
      offset = this.applied;
    }
    this.forgetKept();
    await this.deps.wal.truncateAfter(offset);
    this.deps.chain.truncateAfter(offset);
    const head = this.headEntryId();
    this.lastAppended = head.offset;
    this.durable = head.offset;
    return head;
  }

  /** Ends the current stream and waits until no append or apply is running. Idempotent; the replica can serve again after. */
  async stop(): Promise<void> {
    await this.endStream();
    while (this.pendingAppends > 0 || this.applying || this.applyScheduled) await this.idle.wait();
  }

  private async endStream(): Promise<void> {
    const stream = this.stream;
    if (!stream) return;
    stream.abort.abort();
    await stream.done;
  }

  private receive(term: bigint, append: AppendMessage, onLeaderMessage: (leaseProbe: boolean) => void): void {
    // -1: an old leader that does not say its term (Oxia accepts it for rolling upgrades).
    if (append.term !== -1n && append.term !== term) {
      throw new OxiaError('InvalidTerm', `append of term ${append.term} on a stream of term ${term}`);
    }
    // Any message of the leader of our term makes us its follower, also a bare commit offset.
    const probe = append.leaseProbeMs;
    onLeaderMessage(probe !== undefined);
    if (probe !== undefined) {
      // Answered at once, not after the next fsync: the echo is what keeps the leader's lease.
      this.pendingEcho = probe;
      this.scheduleAck();
    }
    if (append.digestCheckpoint !== undefined) this.compareDigest(append.digestCheckpoint);
    const entry = append.entry;
    if (entry === undefined) {
      this.advertise(append.commitOffset);
      return;
    }
    if (entry.offset <= this.lastAppended) {
      // A leader that reconnected resends what it had not seen acknowledged.
      if (entry.offset <= this.durable) {
        this.reAck = true;
        this.scheduleAck();
      }
      return;
    }
    if (entry.offset !== this.lastAppended + 1n && this.lastAppended < 0n && this.applied < 0n) {
      // Holding nothing (a copy dropped for diverging, ADR 0031), this replica can only be
      // brought back by a snapshot: said as a wiped node says it, which makes the leader send one.
      throw new OxiaError('NodeIsNotMember', `this replica holds none of the shard's entries, and entry ${entry.offset} is not the first`);
    }
    if (entry.offset !== this.lastAppended + 1n) {
      throw new OxiaError('InvalidArgument', `entry ${entry.offset} cannot follow entry ${this.lastAppended}: entries are missing`);
    }
    if (entry.term !== term && term !== -1n && entry.term > term) {
      throw new OxiaError('InvalidTerm', `entry ${entry.offset} has term ${entry.term}, newer than the stream's term ${term}`);
    }
    this.checkChain(entry, append.previousEntryCrc);
    this.lastAppended = entry.offset;
    if (this.kept.size < KEPT_ENTRIES_MAX && this.keptBytes + entry.value.length <= KEPT_BYTES_MAX) {
      this.kept.set(entry.offset, entry);
      this.keptBytes += entry.value.length;
    }
    this.toAppend.push(entry);
    if (this.toAppend.length === 1) {
      this.pendingAppends++;
      setImmediate(() => this.appendReceived());
    }
    this.advertise(append.commitOffset);
  }

  /**
   * Appends the entries received in this turn of the event loop as one (one write, one sync):
   * a burst of messages read from the stream at once is parsed in one turn.
   */
  private appendReceived(): void {
    const entries = this.toAppend;
    this.toAppend = [];
    const last = entries[entries.length - 1]!.offset;
    this.deps.wal.append(entries).then(
      () => {
        this.pendingAppends--;
        if (last > this.durable) this.durable = last;
        this.scheduleAck();
        this.applySoon();
        this.idle.notify();
      },
      (error: unknown) => {
        this.pendingAppends--;
        this.fail(isStorageFailure(error) ? error : new OxiaError('ResourceUnavailable', `write-ahead log append failed: ${String(error)}`));
        this.idle.notify();
      },
    );
  }

  /**
   * The leader's chain value for the entry before `entry` must be ours (ADR 0031): else our log
   * holds other entries than the leader's, and acknowledging more would count a copy that is
   * not one. Unknown on our side, it becomes ours (a store without a chain value).
   */
  private checkChain(entry: LogEntry, leaders: number | undefined): void {
    const chain = this.deps.chain;
    const before = entry.offset - 1n;
    const ours = chain.crcAt(before);
    if (leaders !== undefined && ours === undefined) chain.adopt(before, leaders);
    else if (leaders !== undefined && ours !== leaders) {
      throw this.diverged('log_chain', `the log differs from the leader's at or before entry ${before}: CRC chain ${ours} here, ${leaders} on the leader`, {
        offset: before.toString(),
      });
    }
    chain.append(entry);
  }

  /**
   * The leader's state digest after `offset` must be ours (ADR 0031): else this replica's state
   * differs from the leader's although their logs agree (a record changed underneath it, an apply
   * that is not deterministic). Compared now when this replica has applied `offset` (its batch may
   * still be writing) and kept its digest there, else when it applies `offset`; a checkpoint it
   * no longer keeps is skipped.
   */
  private compareDigest(leaders: DigestCheckpoint): void {
    const ours = this.checkpoints.at(leaders.offset);
    if (ours !== undefined) this.checkDigest(leaders, ours);
    else if (leaders.offset > this.applied) this.leaderCheckpoint = leaders;
  }

  private checkDigest(leaders: DigestCheckpoint, ours: bigint): void {
    this.deps.metrics.digestCompared();
    if (ours === leaders.digest) return;
    throw this.diverged(
      'state_digest',
      `the state differs from the leader's after entry ${leaders.offset}: digest ${ours.toString(16)} here, ${leaders.digest.toString(16)} on the leader`,
      { offset: leaders.offset.toString() },
    );
  }

  /**
   * This replica's copy is not to be trusted (a scan found its store damaged, ADR 0031): it stops,
   * and the stream it serves ends with `error`, so that its leader sends a snapshot at once.
   */
  distrust(error: OxiaError): void {
    this.fail(error);
  }

  /** This replica differs from its leader: it says so, counts it, and is rebuilt by the shard (a snapshot). */
  private diverged(check: IntegrityCheck, message: string, details: Record<string, string>): OxiaError {
    this.deps.metrics.diverged(check);
    this.deps.log.error('replica diverged from its leader; it will be rebuilt from a snapshot', { check, ...details, error: message });
    return new OxiaError('ReplicaDiverged', message);
  }

  private advertise(commitOffset: bigint): void {
    if (commitOffset > this.advertisedCommit) {
      this.advertisedCommit = commitOffset;
      // With an append in flight, its completion applies, after its ack went out.
      if (this.pendingAppends === 0) this.applySoon();
    }
  }

  /** One ack per burst of completions: appends made durable by one fsync resolve together. */
  private scheduleAck(): void {
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    queueMicrotask(() => {
      this.ackScheduled = false;
      const stream = this.stream;
      if (!stream || stream.abort.signal.aborted) return;
      const echo = this.pendingEcho;
      if (this.durable < 0n && echo === undefined) return;
      if (this.durable <= this.lastAckSent && !this.reAck && echo === undefined) return;
      this.reAck = false;
      this.pendingEcho = undefined;
      if (this.durable > this.lastAckSent) this.lastAckSent = this.durable;
      stream.sendAck(this.durable, echo);
    });
  }

  /**
   * Applies on the next turn of the event loop, not now: the entries that arrived in this turn
   * are then already on their way to the log (the WAL takes a round one turn later too) and the
   * acks of this turn went out (HTTP/2 sends what was written before the turn's immediates
   * run), so applying, which nothing waits for, does not delay an acknowledgement.
   */
  private applySoon(): void {
    if (this.applyScheduled) return;
    this.applyScheduled = true;
    setImmediate(() => {
      this.applyScheduled = false;
      void this.applyLoop();
      this.idle.notify();
    });
  }

  private async applyLoop(): Promise<void> {
    if (this.applying || this.failure) return;
    this.applying = true;
    try {
      for (;;) {
        const target = this.advertisedCommit < this.durable ? this.advertisedCommit : this.durable;
        if (this.applied >= target || this.failure) return;
        const end = target < this.applied + BigInt(APPLY_BATCH_ENTRIES_MAX) ? target : this.applied + BigInt(APPLY_BATCH_ENTRIES_MAX);
        const batch: DecodedEntry[] = [];
        let next = this.applied + 1n;
        for (let kept = this.kept.get(next); kept !== undefined && next <= end; kept = this.kept.get(++next)) {
          batch.push({ entry: kept, value: LogEntryValue.decode(kept.value) });
        }
        if (next <= end) {
          for await (const entry of this.deps.wal.read(next)) {
            if (entry.offset > end) break;
            batch.push({ entry, value: LogEntryValue.decode(entry.value) });
          }
        }
        const last = batch[batch.length - 1];
        if (!last || last.entry.offset !== end) {
          throw new Error(`committed entries ${this.applied + 1n}..${end} are not all in the WAL`);
        }
        const applyStartedMs = this.deps.clock.monotonicMs();
        const chain = this.deps.chain;
        await applyBatch(this.deps.kv, this.deps.config(), batch, undefined, {
          chainCrcAt: (offset) => chain.crcAt(offset),
          onRecord: (record) => {
            // What the WAL gave back must be what arrived: the chain value of the applied bytes
            // is the one computed when the entry was received.
            const received = chain.crcAt(record.offset);
            if (record.crc !== undefined && received !== undefined && record.crc !== received) {
              throw this.diverged('log_chain', `entry ${record.offset} applied with CRC chain ${record.crc}, received with ${received}`, {
                offset: record.offset.toString(),
              });
            }
            this.checkpoints.record(record.offset, record.digest);
            const leaders = this.leaderCheckpoint;
            if (leaders !== undefined && leaders.offset === record.offset) {
              this.leaderCheckpoint = undefined;
              this.checkDigest(leaders, record.digest);
            }
          },
        });
        this.deps.metrics.applied(batch, this.deps.clock.monotonicMs() - applyStartedMs);
        this.applied = end;
        for (const { entry } of batch) {
          if (this.kept.delete(entry.offset)) this.keptBytes -= entry.value.length;
        }
      }
    } catch (error) {
      if (isOxiaError(error, 'ReplicaDiverged')) this.fail(error);
      else {
        this.deps.log.error('applying committed entries failed', { error: String(error) });
        this.fail(isStorageFailure(error) ? error : new OxiaError('ResourceUnavailable', `applying committed entries failed: ${String(error)}`));
      }
    } finally {
      this.applying = false;
      this.idle.notify();
    }
  }

  /** Something on disk failed: the replica stops taking entries until it is reopened (a new term). */
  private fail(error: OxiaError): void {
    if (this.failure === undefined && isStorageFailure(error)) queueMicrotask(() => this.deps.onStorageFailure?.(error));
    this.failure ??= error;
    this.forgetKept();
    this.stream?.abort.abort();
  }

  private forgetKept(): void {
    this.kept.clear();
    this.keptBytes = 0;
  }

  get failed(): OxiaError | undefined {
    return this.failure;
  }
}
