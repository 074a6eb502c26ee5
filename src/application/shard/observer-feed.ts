import { backoffDelayMs, type BackoffPolicy } from '../../domain/coordinator/backoff.js';
import type { AppliedEntry } from '../../domain/database/api.js';
import { readCommitState } from '../../domain/database/index.js';
import { OxiaError, isOxiaError } from '../../domain/errors/oxia-error.js';
import { keyEncoder } from '../../domain/keys/key-encoder.js';
import type { HashRange } from '../../domain/sharding/hash-range.js';
import { splitEntryValue } from '../../domain/sharding/split-entry-filter.js';
import { SplitKeyFilter } from '../../domain/sharding/split-filter.js';
import type { KeySorting } from '../../domain/sharding/namespace.js';
import type { LogEntry } from '../../domain/wal/log-entry.js';
import { LogEntryValue } from '../../domain/wire/storage.js';
import { pause } from '../pause.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { ReplicationClient, ReplicationTarget } from '../ports/replication-client.js';
import type { DecodedEntry } from './apply-batch.js';
import { Broadcast } from './broadcast.js';
import type { AppliedListener } from './leader-shard.js';
import type { StoreViewLease } from './shared-store-view.js';
import { nextTurn } from './yielding-scan.js';
import { SNAPSHOT_FORMAT_NAME, SnapshotEncoder } from './snapshot-format.js';

/** Entries sent and not yet acknowledged, at most: beyond, the feed waits for the child's acks. */
const IN_FLIGHT_BYTES_MAX = 8 * 1024 * 1024;
/**
 * Filtered entries kept for the child (not acknowledged yet), at most. A child slower than the
 * parent for this long fails its feed; the coordinator adds it again (a new snapshot).
 */
const QUEUED_BYTES_MAX = 128 * 1024 * 1024;
/** Store entries read between two turns of the event loop while a snapshot is made: health checks and clients get their turn. */
const SNAPSHOT_ENTRIES_PER_TURN = 512;
/** Reconnect backoff after a failed stream, as a follower cursor's. */
const RECONNECT_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 100, multiplier: 2, maxMs: 2_000, jitter: 0 });
/** After a failed snapshot: each attempt copies the store, so a replica that is down is not tried every 2 s. */
const SNAPSHOT_RETRY_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 1_000, multiplier: 2, maxMs: 30_000, jitter: 0 });
/** Bytes of an entry on the wire besides its value. */
const ENTRY_OVERHEAD_BYTES = 40;

export interface ObserverFeedDeps {
  /** The observer: the child replica's node (internal address). */
  readonly follower: string;
  /** The child shard at the term its replicas hold the copy at. */
  readonly target: ReplicationTarget;
  /** The child's hash range. */
  readonly range: HashRange;
  readonly keySorting: KeySorting;
  /** A frozen view of the parent leader's store, shared with the feeds that ask at the same time. */
  readonly acquireView: () => Promise<StoreViewLease>;
  /** Registers for the parent's applied entries; returns the unsubscribe function. */
  readonly subscribe: (listener: AppliedListener) => () => void;
  /** The parent's last applied offset now. */
  readonly lastAppliedOffset: () => bigint;
  /** The encoded entry the child gets for an applied one (see cutForChild: computed once per child, not per replica). */
  readonly cut: (value: LogEntryValue, applied: AppliedEntry) => Uint8Array;
  readonly client: ReplicationClient;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * The cut of applied entries for one child, shared by the feeds of its replicas: each entry is cut
 * (and encoded) once per child. Remembered per applied entry, so forgotten with it.
 */
export function cutForChild(range: HashRange): (value: LogEntryValue, applied: AppliedEntry) => Uint8Array {
  const cuts = new WeakMap<AppliedEntry, Uint8Array>();
  return (value, applied) => {
    let cut = cuts.get(applied);
    if (cut === undefined) {
      cut = LogEntryValue.encode(splitEntryValue(value, applied, range)).finish();
      cuts.set(applied, cut);
    }
    return cut;
  };
}

/**
 * What the parent's leader sends one replica of a split's child (ADR 0025), while the parent
 * goes on serving: a snapshot of its store cut down to the child's range (SplitKeyFilter),
 * read from a frozen view of the store (applying goes on meanwhile, so clients do not wait),
 * then each entry the parent applies after that view, cut down too (splitEntryValue), at the
 * parent's offsets and the child's term, on a Replicate stream. The child's replica installs
 * and appends them as a follower does; it does not count towards the parent's quorum (its
 * acknowledgements only tell this feed how far it is). Only applied (hence committed) entries
 * are sent, so the child's log never holds an entry a later leader of the parent would not have.
 * A broken stream is reopened from the last acknowledged offset; a child that lost its copy gets a
 * new snapshot. Lives until closed (RemoveObserver, the end of this leadership) or failed.
 */
export class ObserverFeed {
  private ackOffset = -1n;
  /** Filtered entries after ackOffset (and, before the first snapshot, all since the start), oldest first. */
  private queue: LogEntry[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  /** The offset the last snapshot sent was as of; undefined until one was installed. */
  private installedOffset: bigint | undefined;
  private failure: OxiaError | undefined;
  private readonly stopping = new AbortController();
  private readonly changed = new Broadcast();
  private cancelActive: (() => void) | undefined;
  private readonly unsubscribe: () => void;
  private readonly running: Promise<void>;
  private readonly log: Logger;

  constructor(private readonly deps: ObserverFeedDeps) {
    this.log = deps.log.child({ observer: `${deps.follower}:${deps.target.shard}` });
    // Before the snapshot is taken: every entry it does not hold is then queued.
    this.unsubscribe = deps.subscribe((entries, batch) => this.onApplied(entries, batch));
    this.running = this.run();
  }

  /** Why the feed stopped for good, if it did. */
  get failed(): OxiaError | undefined {
    return this.failure;
  }

  get acknowledgedOffset(): bigint {
    return this.ackOffset;
  }

  /**
   * Resolves once the child holds its snapshot and every entry the parent had applied when the
   * snapshot was installed or, if later, when this is called (a frozen parent: all of them).
   * Rejects when the feed fails or closes, or `signal` aborts.
   */
  async caughtUp(signal: AbortSignal): Promise<bigint> {
    let target: bigint | undefined;
    for (;;) {
      if (this.failure) throw this.failure;
      if (signal.aborted) throw new OxiaError('Aborted', 'stopped waiting for the observer to catch up');
      if (this.installedOffset !== undefined) {
        target ??= this.deps.lastAppliedOffset();
        if (this.ackOffset >= target) return this.ackOffset;
      }
      await this.changed.wait(signal);
    }
  }

  /** Stops feeding (`why` is what waiters get). Idempotent. */
  async close(why: OxiaError): Promise<void> {
    this.failure ??= why;
    this.stopping.abort();
    this.unsubscribe();
    this.cancelActive?.();
    this.changed.notify();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private onApplied(entries: readonly AppliedEntry[], batch: readonly DecodedEntry[]): void {
    if (this.failure) return;
    for (let i = 0; i < batch.length; i++) {
      const { entry, value } = batch[i]!;
      if (entry.offset <= this.ackOffset) continue;
      const filtered = this.deps.cut(value, entries[i]!);
      this.queue.push({ term: this.deps.target.term, offset: entry.offset, timestamp: entry.timestamp, value: filtered });
      this.queuedBytes += filtered.length + ENTRY_OVERHEAD_BYTES;
    }
    if (this.queuedBytes > QUEUED_BYTES_MAX) {
      this.log.warn('the observer fell too far behind the parent: its feed stops', { queuedBytes: this.queuedBytes, ackOffset: this.ackOffset.toString() });
      void this.close(new OxiaError('ResourceUnavailable', `observer ${this.deps.follower} of shard ${this.deps.target.shard} fell too far behind`));
      return;
    }
    this.changed.notify();
  }

  /** Forgets the queued entries the child holds. */
  private dropThrough(offset: bigint): void {
    while (this.queueHead < this.queue.length && this.queue[this.queueHead]!.offset <= offset) {
      this.queuedBytes -= this.queue[this.queueHead]!.value.length + ENTRY_OVERHEAD_BYTES;
      this.queueHead++;
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }

  private async run(): Promise<void> {
    let attempt = 0;
    let needsSnapshot = true;
    while (!this.stopped) {
      try {
        if (needsSnapshot) {
          await this.sendSnapshot();
          needsSnapshot = false;
          attempt = 0;
        }
        await this.stream(() => (attempt = 0));
      } catch (error) {
        if (this.stopped) return;
        // The child lost its copy (wiped, or it dropped a diverged one): it starts over.
        if (isOxiaError(error, 'NodeIsNotMember') || isOxiaError(error, 'ReplicaDiverged')) needsSnapshot = true;
        const retryInMs = backoffDelayMs(needsSnapshot ? SNAPSHOT_RETRY_BACKOFF : RECONNECT_BACKOFF, attempt++, 0);
        this.log.warn('feeding the observer failed; retrying', { error: error instanceof Error ? error.message : String(error), retryInMs });
        await pause(this.deps.clock, retryInMs, this.stopping.signal);
      }
    }
  }

  private async sendSnapshot(): Promise<void> {
    const startedMs = this.deps.clock.monotonicMs();
    const sink = this.deps.client.sendSnapshot(this.deps.follower, this.deps.target);
    this.cancelActive = () => sink.cancel();
    let chunks = 0;
    let bytes = 0;
    const filter = new SplitKeyFilter(this.deps.range, keyEncoder(this.deps.keySorting));
    try {
      const lease = await this.deps.acquireView();
      const snapshot = lease.view;
      let offset: bigint;
      try {
        offset = (await readCommitState(snapshot)).commitOffset;
        const encoder = new SnapshotEncoder();
        const send = async (content: Uint8Array, last: boolean): Promise<void> => {
          if (this.stopped) throw this.failure ?? new OxiaError('Aborted', 'the observer feed is closing');
          await sink.send({ term: this.deps.target.term, name: SNAPSHOT_FORMAT_NAME, content, chunkIndex: chunks, chunkCount: last ? chunks + 1 : 0 });
          chunks++;
          bytes += content.length;
        };
        let read = 0;
        for await (const entry of snapshot.range({})) {
          const value = filter.copy(entry.key, entry.value);
          if (value !== undefined) for (const chunk of encoder.add(entry.key, value)) await send(chunk, false);
          if (++read % SNAPSHOT_ENTRIES_PER_TURN === 0) await nextTurn();
        }
        await send(encoder.finish(), true);
      } finally {
        await lease.release();
      }
      await sink.finish();
      this.ackOffset = offset;
      this.installedOffset = offset;
      this.dropThrough(offset);
      this.log.info('split snapshot sent; streaming the parent\'s entries', {
        offset: offset.toString(),
        kept: filter.kept,
        dropped: filter.dropped,
        bytes,
        ms: Math.round(this.deps.clock.monotonicMs() - startedMs),
      });
      this.changed.notify();
    } catch (error) {
      sink.cancel();
      throw error;
    } finally {
      this.cancelActive = undefined;
    }
  }

  /** One Replicate stream: the queued entries from the child's head on, then each new one. */
  private async stream(onProgress: () => void): Promise<void> {
    let closedWith: OxiaError | undefined;
    const stream = this.deps.client.replicate(this.deps.follower, this.deps.target, {
      onAck: (offset) => {
        if (offset > this.ackOffset) {
          this.ackOffset = offset;
          this.dropThrough(offset);
          onProgress();
        }
        this.changed.notify();
      },
      onClose: (error) => {
        closedWith = error ?? new OxiaError('ResourceUnavailable', 'the observer ended the replication stream');
        this.changed.notify();
      },
    });
    this.cancelActive = () => stream.cancel();
    let next = this.ackOffset + 1n;
    // Sent on this stream and not acknowledged yet, oldest first.
    const unacked: Array<{ readonly offset: bigint; readonly bytes: number }> = [];
    let unackedHead = 0;
    let unackedBytes = 0;
    try {
      for (;;) {
        if (this.stopped) return;
        if (closedWith) throw closedWith;
        while (unackedHead < unacked.length && unacked[unackedHead]!.offset <= this.ackOffset) unackedBytes -= unacked[unackedHead++]!.bytes;
        if (unackedHead > 1024 && unackedHead * 2 > unacked.length) {
          unacked.splice(0, unackedHead);
          unackedHead = 0;
        }
        if (next <= this.ackOffset) next = this.ackOffset + 1n;
        const first = this.queue[this.queueHead];
        if (first !== undefined && next < first.offset) throw new Error(`bug: entry ${next} is no longer queued for the observer`);
        const entry = first === undefined ? undefined : this.queue[this.queueHead + Number(next - first.offset)];
        if (!entry || unackedBytes >= IN_FLIGHT_BYTES_MAX) {
          await this.changed.wait(this.stopping.signal);
          continue;
        }
        // Every entry sent was applied by the parent, hence committed: the child applies it at once.
        const writable = stream.send({ term: this.deps.target.term, entry, commitOffset: entry.offset });
        const bytes = entry.value.length + ENTRY_OVERHEAD_BYTES;
        unacked.push({ offset: entry.offset, bytes });
        unackedBytes += bytes;
        next = entry.offset + 1n;
        if (!writable) await stream.writable();
      }
    } finally {
      this.cancelActive = undefined;
      stream.cancel();
    }
  }
}
