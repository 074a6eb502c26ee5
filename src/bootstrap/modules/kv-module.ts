import { ContainerModule, type ServiceIdentifier } from 'inversify';
import { KvStoreFactory } from '../../application/ports/kv-store.js';
import { CachedKvStoreFactory } from '../../adapters/kv-cache/cached-kv-store.js';
import { KvReadCache } from '../../adapters/kv-cache/read-cache.js';
import { KvOptions } from '../../adapters/kv-common/kv-options.js';
import { LevelKvStoreFactory } from '../../adapters/kv-level/level-kv-store-factory.js';
import { SqliteKvStoreFactory } from '../../adapters/kv-sqlite/sqlite-kv-store-factory.js';

export type KvBackend = 'sqlite' | 'level';

/** The chosen backend's own factory, before the read cache. */
const BackendKvStoreFactory: ServiceIdentifier<KvStoreFactory> = Symbol.for('oxia.BackendKvStoreFactory');

/**
 * KvStoreFactory -> the chosen backend, behind the node's read cache of `readCacheBytes`
 * (0: no cache); the rest of the node cannot tell which.
 */
export function kvModule(backend: KvBackend, options: KvOptions, readCacheBytes: number): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(KvOptions).toConstantValue(options);
    if (backend === 'sqlite') bind(BackendKvStoreFactory).to(SqliteKvStoreFactory).inSingletonScope();
    else bind(BackendKvStoreFactory).to(LevelKvStoreFactory).inSingletonScope();
    bind(KvStoreFactory)
      .toDynamicValue((ctx) => {
        const factory = ctx.get(BackendKvStoreFactory);
        return readCacheBytes > 0 ? new CachedKvStoreFactory(factory, new KvReadCache(readCacheBytes)) : factory;
      })
      .inSingletonScope();
  });
}
