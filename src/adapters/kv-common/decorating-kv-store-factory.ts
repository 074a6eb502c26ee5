import type { KvStore, KvStoreFactory } from '../../application/ports/kv-store.js';
import type { ShardRef } from '../../application/ports/shard-ref.js';

/**
 * Opens the backend's stores, each wrapped by `decorate`: what the store decorators (read
 * cache, metrics, write-behind commits) share. The backend names the kind and deletes.
 */
export abstract class DecoratingKvStoreFactory implements KvStoreFactory {
  constructor(protected readonly backend: KvStoreFactory) {}

  get kind(): string {
    return this.backend.kind;
  }

  async open(shard: ShardRef): Promise<KvStore> {
    return this.decorate(await this.backend.open(shard), shard);
  }

  delete(shard: ShardRef): Promise<void> {
    return this.backend.delete(shard);
  }

  protected abstract decorate(store: KvStore, shard: ShardRef): KvStore;
}
