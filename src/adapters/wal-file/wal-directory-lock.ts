/**
 * One process per WAL directory. Each shard's KV store is locked by its engine, but a
 * second node started with another --data-dir and the same --wal-dir would otherwise
 * append to the same logs as the first and corrupt them. The lock is taken at start,
 * before any shard opens, so such a node refuses to start, naming the directory; the
 * kernel drops it when the holder dies (see ProcessLock), so a crash leaves nothing to
 * clean up.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import { isOxiaError, OxiaError } from '../../domain/errors/oxia-error.js';
import { ProcessLock } from '../files/process-lock.js';
import { WalFileOptions } from './wal-file-options.js';

/** The lock file inside the WAL directory (an empty SQLite file; never a shard's name). */
export const WAL_LOCK_FILE = '.lock';

@injectable()
export class WalDirectoryLock {
  private lock: ProcessLock | undefined;

  constructor(@inject(WalFileOptions) private readonly options: WalFileOptions) {}

  /** Takes the lock or fails with ResourceConflict naming the directory; waits for nobody. */
  async acquire(): Promise<void> {
    if (this.lock) return;
    mkdirSync(this.options.dir, { recursive: true });
    const lock = new ProcessLock(join(this.options.dir, WAL_LOCK_FILE));
    try {
      await lock.acquire(0);
    } catch (e) {
      lock.close();
      if (isOxiaError(e, 'ResourceUnavailable')) {
        throw new OxiaError('ResourceConflict', `the WAL directory ${this.options.dir} is in use by another process (another node started with the same --wal-dir)`);
      }
      throw e;
    }
    this.lock = lock;
  }

  release(): void {
    this.lock?.close();
    this.lock = undefined;
  }
}
