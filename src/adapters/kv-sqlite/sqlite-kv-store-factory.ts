import { mkdir } from 'node:fs/promises';
import { inject, injectable } from 'inversify';
import type { KvStore, KvStoreFactory } from '../../application/ports/kv-store.js';
import type { ShardRef } from '../../application/ports/shard-ref.js';
import { KvOptions, rangePageSizeOf } from '../kv-common/kv-options.js';
import { assertStoreClosed, claimStoreFiles, removeStoreFiles, shardDirectory } from '../kv-common/shard-files.js';
import { SQLITE_FILE, SQLITE_FILES, SqliteKvStore } from './sqlite-kv-store.js';

/** Opens each shard's store as `<dataDir>/<namespace>/<shard>/kv.sqlite`. */
@injectable()
export class SqliteKvStoreFactory implements KvStoreFactory {
  readonly kind = 'sqlite';
  private readonly pageSize: number;

  constructor(@inject(KvOptions) private readonly options: KvOptions) {
    this.pageSize = rangePageSizeOf(options);
  }

  async open(shard: ShardRef): Promise<KvStore> {
    const dir = shardDirectory(this.options.dataDir, shard);
    // Claimed before the first await, so two concurrent opens cannot both pass.
    const release = claimStoreFiles(`${dir}/${SQLITE_FILE}`);
    try {
      await mkdir(dir, { recursive: true });
      await SqliteKvStore.removeLeftoverSnapshots(dir);
    } catch (e) {
      release();
      throw e;
    }
    return SqliteKvStore.open(dir, this.pageSize, release);
  }

  async delete(shard: ShardRef): Promise<void> {
    const dir = shardDirectory(this.options.dataDir, shard);
    assertStoreClosed(`${dir}/${SQLITE_FILE}`);
    await removeStoreFiles(dir, SQLITE_FILES);
  }
}
