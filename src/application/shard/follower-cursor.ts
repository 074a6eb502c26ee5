import { backoffDelayMs, type BackoffPolicy } from '../../domain/coordinator/backoff.js';
import { OxiaError, isOxiaError } from '../../domain/errors/oxia-error.js';
import type { ReadLeaseTiming } from '../../domain/replication/read-lease.js';
import type { DigestCheckpoint } from '../../domain/integrity/index.js';
import type { LogEntry } from '../../domain/wal/log-entry.js';
import { pause } from '../pause.js';
import type { Clock } from '../ports/clock.js';
import type { KvStore } from '../ports/kv-store.js';
import type { Logger } from '../ports/logger.js';
import type { ReplicateStream, ReplicationClient, ReplicationTarget, SnapshotSink } from '../ports/replication-client.js';
import type { Wal } from '../ports/wal.js';
import { Broadcast } from './broadcast.js';
import type { LogChain } from './log-chain.js';
import type { LogPipeline } from './log-pipeline.js';
import type { ReadLease } from './read-lease.js';
import type { ShardMetrics } from './shard-metrics.js';
import { SNAPSHOT_FORMAT_NAME, SnapshotEncoder } from './snapshot-format.js';

/**
 * Bounds on what one follower may have been sent but not yet acknowledged. Enough to
 * keep the link busy across a few fsyncs; beyond it the cursor waits for acks, so a
 * slow follower costs bounded memory on both ends.
 */
export const IN_FLIGHT_BYTES_MAX = 8 * 1024 * 1024;
export const IN_FLIGHT_ENTRIES_MAX = 16_384;
/** Entries read from the WAL per step when the follower is behind what is in memory. */
const WAL_READ_ENTRIES_MAX = 1024;
/** Reconnect backoff after a failed stream: doubles from 100 ms to 2 s, no jitter (one follower per cursor). */
const RECONNECT_BACKOFF: BackoffPolicy = Object.freeze({ initialMs: 100, multiplier: 2, maxMs: 2_000, jitter: 0 });
/** A snapshot chunk the follower does not take within this long ends the attempt (the store is held still meanwhile). */
const SNAPSHOT_CHUNK_TIMEOUT_MS = 30_000;
/** Bytes of an entry on the wire besides its value: term, offset, timestamp, framing. */
const ENTRY_OVERHEAD_BYTES = 40;
/**
 * How long a new commit offset waits at the head for the next entry to carry it before it
 * goes in a message of its own. Under steady writes the next entry comes first, which saves
 * a message, a wake-up and a separate apply on the follower per write; a follower applies at
 * most this much later when writes stop. Nothing waits for a follower's apply: the leader
 * answers once a quorum holds the entry durably and it applied it itself.
 */
export const COMMIT_NOTICE_DELAY_MS = 5;

export interface FollowerCursorDeps {
  readonly follower: string;
  readonly target: ReplicationTarget;
  readonly wal: Wal;
  readonly kv: KvStore;
  readonly pipeline: LogPipeline;
  /** Renewed with the follower's echoes of the probes this cursor sends. */
  readonly lease: ReadLease;
  readonly leaseTiming: ReadLeaseTiming;
  readonly client: ReplicationClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: ShardMetrics;
  /** The CRC chain of the leader's log (ADR 0031): each Append carries the value before its entry. */
  readonly chain: LogChain;
}

/** Why the streaming loop stopped without an error: the follower needs entries the log no longer has. */
class SnapshotNeeded extends Error {}

/**
 * The leader's view of one follower: one Replicate stream that carries the log from
 * the follower's head onward, pipelined (no round trip per entry, at most
 * IN_FLIGHT_BYTES_MAX unacknowledged), whose cumulative acks feed the quorum. Entries
 * come from memory while the leader still holds them, else from the WAL; when the
 * follower is empty or needs entries the WAL no longer has, it first gets a snapshot of
 * the store.
 * A broken stream is reopened with backoff from the last acknowledged offset.
 *
 * Every probe interval, the next message carries a read-lease probe (an entry, or an
 * entry-less heartbeat when there is nothing to send), which the follower echoes at once.
 */
export class FollowerCursor {
  private ackOffset: bigint;
  private readonly stopping = new AbortController();
  private readonly acked = new Broadcast();
  /** Failed attempts since the follower last acknowledged something. */
  private reconnectAttempt = 0;
  /** Cancels the RPC in progress (stream or snapshot), so that close() never waits on a stuck peer. */
  private cancelActive: (() => void) | undefined;
  private readonly running: Promise<void>;
  private readonly log: Logger;
  /** When the last lease probe went out on the current stream (this node's monotonic ms). */
  private lastProbeMs = -Infinity;
  private cancelProbeTimer: () => void = () => undefined;
  /** Marks a held commit offset due (see COMMIT_NOTICE_DELAY_MS); undefined when not armed. */
  private cancelCommitTimer: (() => void) | undefined;
  /** A commit offset held at the head has waited COMMIT_NOTICE_DELAY_MS: it goes alone now. */
  private commitNoticeDue = false;

  constructor(
    private readonly deps: FollowerCursorDeps,
    /** The follower's head: it holds every entry up to here (after truncation, if any). */
    headOffset: bigint,
  ) {
    this.log = deps.log.child({ follower: deps.follower });
    this.ackOffset = headOffset;
    if (headOffset >= 0n) deps.pipeline.onFollowerDurable(deps.follower, headOffset);
    this.scheduleProbe();
    this.running = this.run();
  }

  get follower(): string {
    return this.deps.follower;
  }

  get acknowledgedOffset(): bigint {
    return this.ackOffset;
  }

  /** Stops sending and waits for the loop to end. Idempotent. */
  async close(): Promise<void> {
    this.stopping.abort();
    this.cancelProbeTimer();
    this.cancelCommitTimer?.();
    this.cancelActive?.();
    this.acked.notify();
    await this.running;
  }

  private get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.needsSnapshot()) await this.sendSnapshot();
        await this.streamEntries();
      } catch (error) {
        if (this.stopped) return;
        if (error instanceof SnapshotNeeded) continue;
        if (this.deps.pipeline.failed) return; // leadership is over: nothing more to send
        if (isOxiaError(error, 'NodeIsNotMember') || isOxiaError(error, 'ReplicaDiverged')) {
          // The follower lost its copy of the shard (wiped and restarted), or found that its copy
          // differs from ours and dropped it (ADR 0031): start it over, from a snapshot.
          this.ackOffset = -1n;
        }
        const retryInMs = backoffDelayMs(RECONNECT_BACKOFF, this.reconnectAttempt++, 0);
        this.log.warn('replication to follower failed; retrying', {
          error: error instanceof Error ? error.message : String(error),
          retryInMs,
          ackOffset: this.ackOffset.toString(),
        });
        await pause(this.deps.clock, retryInMs, this.stopping.signal);
      }
    }
  }

  /** The first offset this leader can still send from its log (or memory). */
  private firstAvailableOffset(): bigint {
    const first = this.deps.wal.firstOffset();
    return first >= 0n ? first : this.deps.pipeline.headEntryId.offset + 1n;
  }

  /**
   * A follower that holds nothing while this leader has committed entries gets the store, as in
   * Oxia: a wiped node answers NodeIsNotMember to log entries (it has no term to check them
   * against) and would otherwise wait for the next election, and the store is what the whole
   * log would rebuild anyway. Otherwise only a follower behind the log's first entry needs one.
   */
  private needsSnapshot(): boolean {
    if (this.ackOffset === -1n && this.deps.pipeline.committedOffset >= 0n) return true;
    return this.ackOffset + 1n < this.firstAvailableOffset();
  }

  /** Wakes the streaming loop every probe interval, so that an idle stream still carries probes. */
  private scheduleProbe(): void {
    this.cancelProbeTimer = this.deps.clock.schedule(this.deps.leaseTiming.probeIntervalMs, () => {
      if (this.stopped) return;
      this.acked.notify();
      this.scheduleProbe();
    });
  }

  /**
   * Whether a commit offset the follower has not heard of should go in a message of its own
   * now; otherwise it is held for the next entry to carry, and a timer marks it due after
   * COMMIT_NOTICE_DELAY_MS (a flag, not a time comparison: a drifting clock's arithmetic
   * could leave it a hair short forever).
   */
  private commitNoticeDueNow(): boolean {
    if (this.commitNoticeDue) return true;
    this.cancelCommitTimer ??= this.deps.clock.schedule(COMMIT_NOTICE_DELAY_MS, () => {
      this.cancelCommitTimer = undefined;
      this.commitNoticeDue = true;
      this.acked.notify();
    });
    return false;
  }

  /** The follower was just told the commit offset: nothing is held any more. */
  private commitNoticeSent(): void {
    this.commitNoticeDue = false;
    if (this.cancelCommitTimer === undefined) return;
    this.cancelCommitTimer();
    this.cancelCommitTimer = undefined;
  }

  /** The value of the lease probe the message sent now should carry, if one is due. */
  private probe(): number | undefined {
    const now = this.deps.clock.monotonicMs();
    if (now - this.lastProbeMs < this.deps.leaseTiming.probeIntervalMs) return undefined;
    this.lastProbeMs = now;
    return now;
  }

  private onAck(offset: bigint, leaseEchoMs: number | undefined): void {
    if (leaseEchoMs !== undefined) this.deps.lease.onEcho(this.deps.follower, leaseEchoMs);
    if (offset > this.ackOffset) {
      this.ackOffset = offset;
      this.deps.pipeline.onFollowerDurable(this.deps.follower, offset);
      this.reconnectAttempt = 0;
    }
    this.acked.notify();
  }

  private async streamEntries(): Promise<void> {
    const { pipeline, target } = this.deps;
    let closedWith: OxiaError | undefined;
    const stream: ReplicateStream = this.deps.client.replicate(this.deps.follower, target, {
      onAck: (offset, leaseEchoMs) => this.onAck(offset, leaseEchoMs),
      onClose: (error) => {
        closedWith = error ?? new OxiaError('ResourceUnavailable', 'the follower ended the replication stream');
        this.acked.notify();
      },
    });
    this.cancelActive = () => stream.cancel();
    this.log.info('replicating to follower', { fromOffset: (this.ackOffset + 1n).toString() });
    // Sent and not yet acknowledged, oldest first: offsets and sizes.
    const unacked: Array<{ readonly offset: bigint; readonly bytes: number }> = [];
    let unackedHead = 0;
    let unackedBytes = 0;
    let next = this.ackOffset + 1n;
    let lastSentCommit = -1n;
    this.commitNoticeSent();
    // The offset of the last digest checkpoint sent on this stream (ADR 0031): each goes once.
    let lastSentCheckpoint = -1n;
    const checkpointToSend = (): DigestCheckpoint | undefined => {
      const latest = pipeline.latestDigestCheckpoint;
      if (latest === undefined || latest.offset <= lastSentCheckpoint) return undefined;
      lastSentCheckpoint = latest.offset;
      return latest;
    };
    // A new stream probes with its first message.
    this.lastProbeMs = -Infinity;

    const send = async (entry: LogEntry): Promise<void> => {
      const commitOffset = pipeline.committedOffset;
      const writable = stream.send({
        term: target.term,
        entry,
        commitOffset,
        leaseProbeMs: this.probe(),
        previousEntryCrc: this.deps.chain.crcAt(entry.offset - 1n),
        digestCheckpoint: checkpointToSend(),
      });
      if (commitOffset > lastSentCommit) this.commitNoticeSent();
      lastSentCommit = commitOffset;
      const bytes = entry.value.length + ENTRY_OVERHEAD_BYTES;
      unacked.push({ offset: entry.offset, bytes });
      unackedBytes += bytes;
      next = entry.offset + 1n;
      if (!writable) await stream.writable();
    };

    try {
      for (;;) {
        if (this.stopped) return;
        if (closedWith) throw closedWith;
        if (pipeline.failed) throw pipeline.failed;
        while (unackedHead < unacked.length && unacked[unackedHead]!.offset <= this.ackOffset) {
          unackedBytes -= unacked[unackedHead]!.bytes;
          unackedHead++;
        }
        if (unackedHead > 1024 && unackedHead * 2 > unacked.length) {
          unacked.splice(0, unackedHead);
          unackedHead = 0;
        }
        // A follower may ack past what this stream sent (it had those entries already).
        if (next <= this.ackOffset) next = this.ackOffset + 1n;
        if (unackedBytes >= IN_FLIGHT_BYTES_MAX || unacked.length - unackedHead >= IN_FLIGHT_ENTRIES_MAX) {
          await this.acked.wait(this.stopping.signal);
          continue;
        }
        if (next > pipeline.headEntryId.offset) {
          // At the head: tell the follower a new commit offset (once the next entry had its
          // chance to carry it), and probe when a probe is due (a heartbeat), then wait.
          const commitOffset = pipeline.committedOffset;
          const commitDue = commitOffset > lastSentCommit && this.commitNoticeDueNow();
          const leaseProbeMs = this.probe();
          const checkpointDue = (pipeline.latestDigestCheckpoint?.offset ?? -1n) > lastSentCheckpoint;
          if (commitDue || leaseProbeMs !== undefined || checkpointDue) {
            const digestCheckpoint = checkpointToSend();
            const writable = stream.send({ term: target.term, entry: undefined, commitOffset, leaseProbeMs, digestCheckpoint });
            lastSentCommit = commitOffset;
            this.commitNoticeSent();
            if (!writable) await stream.writable();
            continue;
          }
          await this.waitForProgress();
          continue;
        }
        const inMemory = pipeline.entryInMemory(next);
        if (inMemory) {
          await send(inMemory);
          continue;
        }
        if (next < this.firstAvailableOffset()) throw new SnapshotNeeded();
        let read = 0;
        try {
          for await (const entry of this.deps.wal.read(next)) {
            if (entry.offset !== next) throw new Error(`WAL returned offset ${entry.offset} where ${next} was expected`);
            await send(entry);
            if (++read >= WAL_READ_ENTRIES_MAX || unackedBytes >= IN_FLIGHT_BYTES_MAX || closedWith || this.stopped) break;
          }
        } catch (error) {
          // Retention trimmed the log under the reader.
          if (next < this.firstAvailableOffset()) throw new SnapshotNeeded();
          throw error;
        }
        if (read === 0) {
          throw new OxiaError('ResourceUnavailable', `entry ${next} is neither in memory nor in the leader's log`);
        }
      }
    } finally {
      this.cancelActive = undefined;
      stream.cancel();
    }
  }

  /**
   * Waits for a new proposal or commit, an ack, the stream's end, or close() (which
   * notifies `acked`). Runs once per entry or commit at the head, so it registers two
   * plain callbacks rather than an AbortController and a Promise.race.
   */
  private waitForProgress(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let settled = false;
      const wake = (): void => {
        if (settled) return;
        settled = true;
        offProgress();
        offAcked();
        resolve();
      };
      const offProgress = this.deps.pipeline.progress.subscribe(wake);
      const offAcked = this.acked.subscribe(wake);
    });
  }

  /**
   * Sends the leader's whole store, as of its last applied entry, then records the
   * follower at that offset. The store is held still (applying pauses, commits go on)
   * while it is read, so the copy is exactly the state at one offset.
   */
  private async sendSnapshot(): Promise<void> {
    const { pipeline, target } = this.deps;
    this.log.info('follower is empty or behind the first entry of the log; sending a snapshot', {
      ackOffset: this.ackOffset.toString(),
      firstOffset: this.deps.wal.firstOffset().toString(),
    });
    const sink = this.deps.client.sendSnapshot(this.deps.follower, target);
    this.cancelActive = () => sink.cancel();
    let chunks = 0;
    let bytes = 0;
    let snapshotOffset = -1n;
    const startedMs = this.deps.clock.monotonicMs();
    try {
      const resume = await pipeline.pauseApply();
      try {
        snapshotOffset = pipeline.lastAppliedOffset;
        const encoder = new SnapshotEncoder();
        const sendChunk = async (content: Uint8Array, last: boolean): Promise<void> => {
          if (this.stopped) throw new OxiaError('Aborted', 'the cursor is closing');
          await this.withTimeout(
            sink.send({ term: target.term, name: SNAPSHOT_FORMAT_NAME, content, chunkIndex: chunks, chunkCount: last ? chunks + 1 : 0 }),
            sink,
          );
          chunks++;
          bytes += content.length;
        };
        for await (const entry of this.deps.kv.range({})) {
          for (const chunk of encoder.add(entry.key, entry.value)) await sendChunk(chunk, false);
        }
        await sendChunk(encoder.finish(), true);
      } finally {
        resume();
      }
      const ackOffset = await sink.finish();
      this.deps.metrics.snapshotCompleted('sent', bytes, this.deps.clock.monotonicMs() - startedMs);
      this.log.info('snapshot sent', { chunks, bytes, snapshotOffset: snapshotOffset.toString(), ackOffset: ackOffset.toString() });
      this.ackOffset = ackOffset;
      if (ackOffset >= 0n) pipeline.onFollowerDurable(this.deps.follower, ackOffset);
      this.reconnectAttempt = 0;
    } catch (error) {
      sink.cancel();
      if (!this.stopped) this.deps.metrics.snapshotFailed('sent', bytes);
      throw error;
    } finally {
      this.cancelActive = undefined;
    }
  }

  private withTimeout(sent: Promise<void>, sink: SnapshotSink): Promise<void> {
    const cancel = this.deps.clock.schedule(SNAPSHOT_CHUNK_TIMEOUT_MS, () => sink.cancel());
    return sent.finally(cancel);
  }
}
