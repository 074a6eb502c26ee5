import type { ServiceIdentifier } from 'inversify';
import type { KvOp, KvReadView } from '../../domain/database/kv-view.js';
import type { ShardRef } from './shard-ref.js';

/**
 * A shard's materialised state: a bytewise-ordered map. Keys arrive already encoded
 * by domain/keys, so adapters know nothing of key sorting or internal keys.
 */
export interface KvStore extends KvReadView {
  /** Applies all ops atomically, in order (a later op on the same key wins). */
  write(ops: readonly KvOp[]): Promise<void>;
  /** Approximate bytes on disk, for metrics and GetStatus. */
  sizeBytes(): Promise<bigint>;
  close(): Promise<void>;
}

export interface KvStoreFactory {
  /** Which backend this is, for logs and metrics: 'sqlite' | 'level'. */
  readonly kind: string;
  open(shard: ShardRef): Promise<KvStore>;
  /** Removes the shard's files for good. The store must be closed. */
  delete(shard: ShardRef): Promise<void>;
}
export const KvStoreFactory: ServiceIdentifier<KvStoreFactory> = Symbol.for('oxia.KvStoreFactory');
