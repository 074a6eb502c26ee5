import { inject, injectable, optional } from 'inversify';
import { randomUUID } from 'node:crypto';
import { rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Metrics } from '../../application/ports/metrics.js';
import type { WalFactory } from '../../application/ports/wal.js';
import type { ShardRef } from '../../application/ports/shard-ref.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { fsyncDir } from './file-io.js';
import { FileWal } from './file-wal.js';
import { WalMetrics } from './wal-metrics.js';
import { WalFileOptions, resolveWalFileOptions, type ResolvedWalFileOptions } from './wal-file-options.js';

/** Opens shards' logs under `<dir>/<namespace>/<shard>/`, at most one open log per shard. */
@injectable()
export class FileWalFactory implements WalFactory {
  private readonly options: ResolvedWalFileOptions;
  /** Two FileWals on one directory would interleave writes and corrupt the log. */
  private readonly openDirs = new Set<string>();
  private readonly metrics: WalMetrics | undefined;

  constructor(@inject(WalFileOptions) options: WalFileOptions, @inject(Metrics) @optional() metrics?: Metrics) {
    this.options = resolveWalFileOptions(options);
    this.metrics = metrics ? new WalMetrics(metrics) : undefined;
  }

  /** The directory holding a shard's segment files. */
  shardDir(shard: ShardRef): string {
    return join(this.options.dir, namespaceDirName(shard.namespace), shardDirName(shard.shard));
  }

  async open(shard: ShardRef): Promise<FileWal> {
    const dir = this.shardDir(shard);
    if (this.openDirs.has(dir)) throw new OxiaError('ResourceConflict', `WAL of shard ${shard.namespace}/${shard.shard} is already open`);
    this.openDirs.add(dir);
    try {
      return await FileWal.open(dir, this.options, () => this.openDirs.delete(dir), this.metrics?.forShard(shard));
    } catch (e) {
      this.openDirs.delete(dir);
      throw e;
    }
  }

  async delete(shard: ShardRef): Promise<void> {
    const dir = this.shardDir(shard);
    if (this.openDirs.has(dir)) throw new OxiaError('ResourceConflict', `WAL of shard ${shard.namespace}/${shard.shard} is open: close it before deleting`);
    // Renaming first makes the deletion atomic: a crash during rm leaves a tombstone
    // directory nobody opens, never a shard log with some segments missing.
    const tombstone = join(dirname(dir), `.deleted-${shardDirName(shard.shard)}-${randomUUID()}`);
    try {
      await rename(dir, tombstone);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    if (this.options.syncData) await fsyncDir(dirname(dir));
    await rm(tombstone, { recursive: true, force: true });
    this.metrics?.remove(shard);
  }
}

/** Namespaces are user-chosen names: keep them to one safe path component. */
function namespaceDirName(namespace: string): string {
  const name = encodeURIComponent(namespace);
  if (name === '' || name === '.' || name === '..') throw new OxiaError('InvalidArgument', `namespace ${JSON.stringify(namespace)} cannot name a directory`);
  return name;
}

function shardDirName(shard: bigint): string {
  if (shard < 0n) throw new OxiaError('InvalidArgument', `bad shard id ${shard}`);
  return shard.toString();
}
