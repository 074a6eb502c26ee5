import { ContainerModule } from 'inversify';
import { KvStoreFactory } from '../../application/ports/kv-store.js';
import { KvOptions } from '../../adapters/kv-common/kv-options.js';
import { LevelKvStoreFactory } from '../../adapters/kv-level/level-kv-store-factory.js';
import { SqliteKvStoreFactory } from '../../adapters/kv-sqlite/sqlite-kv-store-factory.js';

export type KvBackend = 'sqlite' | 'level';

/** KvStoreFactory -> the chosen backend; the rest of the node cannot tell which. */
export function kvModule(backend: KvBackend, options: KvOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(KvOptions).toConstantValue(options);
    if (backend === 'sqlite') bind(KvStoreFactory).to(SqliteKvStoreFactory).inSingletonScope();
    else bind(KvStoreFactory).to(LevelKvStoreFactory).inSingletonScope();
  });
}
