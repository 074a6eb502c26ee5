import { ContainerModule, type ServiceIdentifier } from 'inversify';
import { KvStoreFactory } from '../../application/ports/kv-store.js';
import { Metrics } from '../../application/ports/metrics.js';
import { CachedKvStoreFactory } from '../../adapters/kv-cache/cached-kv-store.js';
import { KvReadCache } from '../../adapters/kv-cache/read-cache.js';
import { KvOptions } from '../../adapters/kv-common/kv-options.js';
import { LevelKvStoreFactory } from '../../adapters/kv-level/level-kv-store-factory.js';
import { DEFAULT_WRITE_BEHIND_LIMITS, WriteBehindKvStoreFactory } from '../../adapters/kv-write-behind/write-behind-kv-store.js';
import { MeteredKvStoreFactory } from '../../adapters/metrics/metered-kv-store.js';
import { exportReadCacheMetrics } from '../../adapters/metrics/read-cache-metrics.js';
import { SqliteKvStoreFactory } from '../../adapters/kv-sqlite/sqlite-kv-store-factory.js';
import type { KvBackend } from '../config/storage-options.js';

/** The chosen backend's own factory, before the read cache. */
const BackendKvStoreFactory: ServiceIdentifier<KvStoreFactory> = Symbol.for('oxia.BackendKvStoreFactory');

/**
 * KvStoreFactory -> the chosen backend, behind the node's read cache of `readCacheBytes`
 * (0: no cache), behind write-behind commits every `commitIntervalMs` (0: none); the rest of
 * the node cannot tell which. When the container also has Metrics, the backend's writes are
 * measured, the cache's counts and the write-behind backlogs exported.
 */
export function kvModule(backend: KvBackend, options: KvOptions, readCacheBytes: number, commitIntervalMs: number): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(KvOptions).toConstantValue(options);
    if (backend === 'sqlite') bind(BackendKvStoreFactory).to(SqliteKvStoreFactory).inSingletonScope();
    else bind(BackendKvStoreFactory).to(LevelKvStoreFactory).inSingletonScope();
    // Its own binding, so that a live configuration change can resize it.
    if (readCacheBytes > 0) bind(KvReadCache).toConstantValue(new KvReadCache(readCacheBytes));
    bind(KvStoreFactory)
      .toDynamicValue((ctx) => {
        const metrics = ctx.get(Metrics, { optional: true });
        const backend = ctx.get(BackendKvStoreFactory);
        const metered = metrics ? new MeteredKvStoreFactory(backend, metrics) : backend;
        let factory: KvStoreFactory = metered;
        if (readCacheBytes > 0) {
          const cache = ctx.get(KvReadCache);
          if (metrics) exportReadCacheMetrics(metrics, cache);
          factory = new CachedKvStoreFactory(metered, cache);
        }
        return commitIntervalMs > 0 ? new WriteBehindKvStoreFactory(factory, { ...DEFAULT_WRITE_BEHIND_LIMITS, intervalMs: commitIntervalMs }, metrics) : factory;
      })
      .inSingletonScope();
  });
}
