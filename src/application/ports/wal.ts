import type { ServiceIdentifier } from 'inversify';
import type { EntryId, LogEntry } from '../../domain/wal/log-entry.js';
import type { ShardRef } from './shard-ref.js';

/**
 * A shard's write-ahead log. Offsets are dense and increasing. The log is the
 * source of truth: a write is acknowledged only once its entry is durable here
 * (and, when replicated, on a majority).
 */
export interface Wal {
  /** Offset of the oldest entry still held, or -1 when the log is empty. */
  firstOffset(): bigint;
  /** Term and offset of the newest entry, or INVALID_ENTRY_ID when empty. */
  lastEntryId(): EntryId;
  /**
   * Appends entries whose offsets continue the log (any offset when empty).
   * Resolves once they are durable: concurrent appends share one fsync (group commit).
   * Rejects on an offset gap or a term lower than the last entry's.
   */
  append(entries: readonly LogEntry[]): Promise<void>;
  /** Entries from `fromOffset` (inclusive) to the current end, in order. */
  read(fromOffset: bigint): AsyncIterable<LogEntry>;
  /** Drops every entry after `offset` (keeps `offset`); returns the new head. */
  truncateAfter(offset: bigint): Promise<EntryId>;
  /** Drops whole segments that lie entirely before `offset`. Never drops `offset` itself. */
  trimBefore(offset: bigint): Promise<void>;
  /**
   * Retention: drops whole segments whose newest entry is older than `olderThanMs`
   * (entry timestamps) and whose last offset is below `notAfterOffset` (the commit
   * offset, so that uncommitted or unapplied entries are never trimmed).
   */
  expire(olderThanMs: bigint, notAfterOffset: bigint): Promise<void>;
  /** Removes every entry; the next append may start at any offset (snapshot installs). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export interface WalFactory {
  open(shard: ShardRef): Promise<Wal>;
  /** Removes the shard's log files for good (DeleteShard). The log must be closed. */
  delete(shard: ShardRef): Promise<void>;
}
export const WalFactory: ServiceIdentifier<WalFactory> = Symbol.for('oxia.WalFactory');
