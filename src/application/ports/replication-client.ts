import type { ServiceIdentifier } from 'inversify';
import type { OxiaError } from '../../domain/errors/oxia-error.js';
import type { DigestCheckpoint } from '../../domain/integrity/index.js';
import type { EntryId, LogEntry } from '../../domain/wal/log-entry.js';

/** Which replica of which shard a replication call addresses, and in whose term. */
export interface ReplicationTarget {
  readonly namespace: string;
  readonly shard: bigint;
  readonly term: bigint;
}

/** One message of a Replicate stream: an entry (absent: only a new commit offset) and the leader's commit offset. */
export interface AppendMessage {
  readonly term: bigint;
  readonly entry: LogEntry | undefined;
  readonly commitOffset: bigint;
  /** A read-lease probe: the leader's monotonic clock when it sent the message (ADR 0024). */
  readonly leaseProbeMs?: number | undefined;
  /**
   * The CRC chain value of the entry before `entry` in the leader's log (Oxia's field; ADR 0031).
   * Absent when the leader does not know it: the follower then checks nothing for this entry.
   */
  readonly previousEntryCrc?: number | undefined;
  /**
   * The leader's state digest after the entry at `offset` (ADR 0031; oxia-ts only): the follower
   * compares it with its own at that offset.
   */
  readonly digestCheckpoint?: DigestCheckpoint | undefined;
}

/** The follower's end of a Replicate stream: sends an Ack (see ReplicateStreamHandlers.onAck). */
export type AckSender = (offset: bigint, leaseEchoMs: number | undefined) => void;

export interface ReplicateStreamHandlers {
  /**
   * A cumulative ack: the follower holds every entry up to `offset` durably; `leaseEchoMs`,
   * when present, is the newest lease probe it received (AppendMessage.leaseProbeMs).
   */
  onAck(offset: bigint, leaseEchoMs: number | undefined): void;
  /** The stream is over: undefined when the follower ended it cleanly, else why it failed. Called once. */
  onClose(error: OxiaError | undefined): void;
}

/** The leader's end of one Replicate stream to one follower. */
export interface ReplicateStream {
  /**
   * Sends an Append. Returns false when the transport's buffer is full: the caller
   * waits for writable() before sending more (backpressure, never an unbounded queue).
   */
  send(append: AppendMessage): boolean;
  /** Resolves when the transport can take more, or the stream is over. */
  writable(): Promise<void>;
  /** Ends the stream from the leader's side (cancel); onClose follows. */
  cancel(): void;
}

/** A snapshot chunk: content is at most 1 MiB. */
export interface SnapshotChunkMessage {
  readonly term: bigint;
  readonly name: string;
  readonly content: Uint8Array;
  readonly chunkIndex: number;
  readonly chunkCount: number;
}

/** The leader's end of one SendSnapshot stream. */
export interface SnapshotSink {
  /** Sends a chunk; resolves once the transport can take the next one. Rejects when the stream failed. */
  send(chunk: SnapshotChunkMessage): Promise<void>;
  /** Ends the stream and resolves with the offset the follower now holds (its store's commit offset). */
  finish(): Promise<bigint>;
  cancel(): void;
}

/**
 * How a shard leader reaches its followers' OxiaLogReplication service, by the
 * follower's internal address. Failures are OxiaErrors (ResourceUnavailable when the
 * follower cannot be reached). Connections are pooled per address.
 */
export interface ReplicationClient {
  /** Asks the follower to drop every entry after `head` (it becomes a follower); resolves with its new head. */
  truncate(follower: string, target: ReplicationTarget, head: EntryId): Promise<EntryId>;
  replicate(follower: string, target: ReplicationTarget, handlers: ReplicateStreamHandlers): ReplicateStream;
  sendSnapshot(follower: string, target: ReplicationTarget): SnapshotSink;
  close(): Promise<void>;
}
export const ReplicationClient: ServiceIdentifier<ReplicationClient> = Symbol.for('oxia.ReplicationClient');
