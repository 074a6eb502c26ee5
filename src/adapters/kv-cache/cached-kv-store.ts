import { DecoratingKvStoreFactory } from '../kv-common/decorating-kv-store-factory.js';
import type { KvSnapshot, KvStore, KvStoreFactory, KvWriteOptions } from '../../application/ports/kv-store.js';
import type { ShardRef } from '../../application/ports/shard-ref.js';
import type { KvEntry, KvOp, KvRange } from '../../domain/database/kv-view.js';
import type { KvReadCache } from './read-cache.js';

/** A Uint8Array's bytes as a string, one char per byte: a Map key. */
const bytesKey = (bytes: Uint8Array): string => Buffer.prototype.latin1Slice.call(bytes, 0, bytes.byteLength) as string;

/**
 * A store whose point reads go through the node's KvReadCache. Writes go to the store first;
 * once it has them, cached entries of the written keys are replaced (put) or dropped (delete).
 * Keys not in the cache are not added by writes: only reads decide what is worth keeping.
 * Range reads go to the store.
 *
 * A read that races a write must not put the older value into the cache after the write
 * updated it (LevelDB reads complete asynchronously): every write bumps `writes` before and
 * after it reaches the store, and a read caches its result only if no write began or ended
 * while it waited.
 */
export class CachedKvStore implements KvStore {
  private writes = 0;
  /** Present when the store reads synchronously: a miss is then read and cached at once. */
  readonly getNow: ((key: Uint8Array) => Uint8Array | undefined) | undefined;

  constructor(
    private readonly store: KvStore,
    private readonly cache: KvReadCache,
    /** Unique among the stores sharing the cache, for as long as the process lives. */
    private readonly prefix: string,
  ) {
    const storeGetNow = store.getNow;
    this.getNow =
      storeGetNow === undefined
        ? undefined
        : (key) => {
            const cacheKey = this.prefix + bytesKey(key);
            const hit = this.cache.get(cacheKey);
            if (hit !== undefined) return hit;
            // Synchronous: no write can interleave, so the value is current.
            const value = storeGetNow(key);
            if (value !== undefined) this.cache.set(cacheKey, value);
            return value;
          };
  }

  async get(key: Uint8Array): Promise<Uint8Array | undefined> {
    const cacheKey = this.prefix + bytesKey(key);
    const hit = this.cache.get(cacheKey);
    if (hit !== undefined) return hit;
    const writesBefore = this.writes;
    const value = await this.store.get(key);
    if (value !== undefined && this.writes === writesBefore) this.cache.set(cacheKey, value);
    return value;
  }

  range(range: KvRange): AsyncIterable<KvEntry> {
    return this.store.range(range);
  }

  /** The store's own snapshot: the cache holds current values, not those of a past moment. */
  snapshot(): Promise<KvSnapshot> {
    return this.store.snapshot();
  }

  async write(ops: readonly KvOp[], options?: KvWriteOptions): Promise<void> {
    this.writes++;
    try {
      await this.store.write(ops, options);
    } catch (e) {
      // What reached the store is unknown: forget every key the write touched.
      for (const op of ops) this.cache.delete(this.prefix + bytesKey(op.key));
      throw e;
    } finally {
      this.writes++;
    }
    for (const op of ops) {
      const cacheKey = this.prefix + bytesKey(op.key);
      if (op.type === 'del') this.cache.delete(cacheKey);
      else if (this.cache.has(cacheKey)) this.cache.set(cacheKey, op.value);
    }
  }

  flush(): Promise<void> {
    return this.store.flush();
  }

  sizeBytes(): Promise<bigint> {
    return this.store.sizeBytes();
  }

  async close(): Promise<void> {
    this.cache.deletePrefix(this.prefix);
    await this.store.close();
  }
}

/** Opens the backend's stores behind the shared read cache. */
export class CachedKvStoreFactory extends DecoratingKvStoreFactory {
  private opened = 0;

  constructor(
    backend: KvStoreFactory,
    private readonly cache: KvReadCache,
  ) {
    super(backend);
  }

  protected decorate(store: KvStore): KvStore {
    return new CachedKvStore(store, this.cache, `${++this.opened}/`);
  }
}
