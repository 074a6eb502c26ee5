import Database from 'better-sqlite3';
import { OxiaError } from '../../domain/errors/oxia-error.js';

/**
 * An exclusive lock between processes (and between instances in one process) on a lock file,
 * released by the kernel when its holder dies.
 *
 * Node has no flock/fcntl API, and an O_EXCL "pid file" lock outlives a crashed holder, after
 * which breaking it safely is itself a race. SQLite's unix VFS takes POSIX byte-range locks
 * (fcntl), which the kernel drops with the process, and tracks locks per inode inside one
 * process too: `BEGIN EXCLUSIVE` on an otherwise unused database file is therefore exactly an
 * exclusive, crash-released lock. Nothing is ever written to the file; it stays 0 bytes.
 */
export class ProcessLock {
  private db: Database.Database | undefined;
  private held = false;

  constructor(
    readonly path: string,
    private readonly pollMs = 5,
    private readonly pollMsMax = 50,
  ) {}

  /** Waits up to `timeoutMs` for the lock; rejects with ResourceUnavailable when another holder keeps it. */
  async acquire(timeoutMs: number): Promise<void> {
    if (this.held) throw new Error(`lock ${this.path} is already held by this instance`);
    // timeout 0: never block the event loop inside SQLite; waiting happens here, asynchronously.
    this.db ??= new Database(this.path, { timeout: 0 });
    const deadline = Date.now() + timeoutMs;
    let delayMs = this.pollMs;
    for (;;) {
      try {
        this.db.exec('BEGIN EXCLUSIVE');
        this.held = true;
        return;
      } catch (e) {
        if ((e as { code?: string }).code !== 'SQLITE_BUSY') throw e;
      }
      if (Date.now() >= deadline) {
        throw new OxiaError('ResourceUnavailable', `lock ${this.path} is held by another process for more than ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, delayMs));
      delayMs = Math.min(delayMs * 2, this.pollMsMax);
    }
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.db!.exec('ROLLBACK');
  }

  close(): void {
    this.release();
    this.db?.close();
    this.db = undefined;
  }
}
