import type { ServiceIdentifier } from 'inversify';
import type { KvEntry, KvOp, KvRange, KvReadView } from '../../domain/database/kv-view.js';
import type { ShardRef } from './shard-ref.js';

/**
 * A shard's materialised state: a bytewise-ordered map. Keys arrive already encoded
 * by domain/keys, so adapters know nothing of key sorting or internal keys.
 */
export interface KvStore extends KvReadView {
  /**
   * Applies all ops atomically, in order (a later op on the same key wins). Not durable by
   * default: a power loss may take back the newest writes, which the shard's log replays
   * (ADR 0004); a write-behind store (ADR 0016) may lose them to a crash of the process too.
   * With `durable`, it resolves only once this write and every earlier one would survive a
   * power loss: for what the log cannot replay (the term a NewTerm promised).
   */
  write(ops: readonly KvOp[], options?: KvWriteOptions): Promise<void>;
  /**
   * Resolves once every write made before the call is in the store's files (as durable as a
   * write without `durable`). A store may hold writes in memory for a while (write-behind,
   * ADR 0016): the log must keep the entries they apply until then.
   */
  flush(): Promise<void>;
  /**
   * A frozen view of the store as it is now: later writes are not seen through it, and
   * writes go on while it is read (a backup reads it; nothing pauses apply). Close it when
   * done: it holds resources (LevelDB's snapshot, SQLite's copy of the file).
   */
  snapshot(): Promise<KvSnapshot>;
  /** Approximate bytes on disk, for metrics and GetStatus. */
  sizeBytes(): Promise<bigint>;
  close(): Promise<void>;
}

export interface KvWriteOptions {
  /** Synced to the disk before the call resolves (SQLite synchronous=FULL, LevelDB sync: true). */
  readonly durable?: boolean;
}

export interface KvStoreFactory {
  /** Which backend this is, for logs and metrics: 'sqlite' | 'level'. */
  readonly kind: string;
  open(shard: ShardRef): Promise<KvStore>;
  /** Removes the shard's files for good. The store must be closed. */
  delete(shard: ShardRef): Promise<void>;
}
export const KvStoreFactory: ServiceIdentifier<KvStoreFactory> = Symbol.for('oxia.KvStoreFactory');

/** A point-in-time view of a store: every read answers as of when it was taken. */
export interface KvSnapshot {
  get(key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Entries in bytewise key order (descending when reverse), as of the snapshot. */
  range(range: KvRange): AsyncIterable<KvEntry>;
  close(): Promise<void>;
}
