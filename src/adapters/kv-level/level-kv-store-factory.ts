import { mkdir } from 'node:fs/promises';
import { inject, injectable } from 'inversify';
import type { KvStore, KvStoreFactory } from '../../application/ports/kv-store.js';
import type { ShardRef } from '../../application/ports/shard-ref.js';
import { KvOptions, rangePageSizeOf } from '../kv-common/kv-options.js';
import { assertStoreClosed, claimStoreFiles, removeStoreFiles, shardDirectory } from '../kv-common/shard-files.js';
import { LEVEL_DIR, LevelKvStore } from './level-kv-store.js';

/** Opens each shard's store as the LevelDB directory `<dataDir>/<namespace>/<shard>/kv.level/`. */
@injectable()
export class LevelKvStoreFactory implements KvStoreFactory {
  readonly kind = 'level';
  private readonly pageSize: number;

  constructor(@inject(KvOptions) private readonly options: KvOptions) {
    this.pageSize = rangePageSizeOf(options);
  }

  async open(shard: ShardRef): Promise<KvStore> {
    const dir = `${shardDirectory(this.options.dataDir, shard)}/${LEVEL_DIR}`;
    // Claimed before the first await, so two concurrent opens cannot both pass.
    const release = claimStoreFiles(dir);
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      release();
      throw e;
    }
    return LevelKvStore.open(dir, this.pageSize, release);
  }

  async delete(shard: ShardRef): Promise<void> {
    const shardDir = shardDirectory(this.options.dataDir, shard);
    assertStoreClosed(`${shardDir}/${LEVEL_DIR}`);
    await removeStoreFiles(shardDir, [LEVEL_DIR]);
  }
}
