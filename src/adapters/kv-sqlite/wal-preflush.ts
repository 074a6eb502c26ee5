import { close, fdatasync, open } from 'node:fs';

/** Least time between two flushes of one store's -wal file. */
export const PREFLUSH_INTERVAL_MS = 100;

/**
 * Writes a SQLite store's -wal file out to disk from the thread pool while commits add to it.
 *
 * Why: with synchronous=NORMAL, SQLite fsyncs the -wal file before each checkpoint (every 1000
 * pages, 16 MiB with our pages), and better-sqlite3 runs that on the event loop. Commits only
 * reach the page cache, so that fsync wrote out everything since the last checkpoint: under
 * load it blocked a node's event loop for about 40 ms, about once a second per shard (strace of
 * a node under the bench). Flushing the file every PREFLUSH_INTERVAL_MS off the event loop
 * leaves the checkpoint's fsync at most that much to write. The disk writes the same bytes
 * either way; durability is unchanged (a commit still needs no fsync, and SQLite still makes
 * its own before checkpointing).
 */
export class WalPreflush {
  private fd: number | undefined;
  private opening = false;
  private flushing = false;
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private lastStartMs = -Infinity;
  private closed = false;

  /** `flushFd`: how a descriptor's data is written out (fs.fdatasync; a test counts the calls). */
  constructor(
    private readonly walPath: string,
    private readonly flushFd: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void = fdatasync,
  ) {}

  /** Called after each commit: the file has pages not yet written out. */
  committed(): void {
    if (this.closed) return;
    this.dirty = true;
    this.schedule();
  }

  /** Stops flushing and closes the descriptor (once a flush in progress has ended). */
  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.flushing && !this.opening) this.closeFd();
  }

  private schedule(): void {
    if (this.flushing || this.opening || this.timer !== undefined) return;
    const wait = this.lastStartMs + PREFLUSH_INTERVAL_MS - performance.now();
    if (wait <= 0) this.flush();
    else {
      // Through schedule() again: a timer measures from the loop's cached clock, so it can fire
      // a few ms early by performance.now() when the loop iteration that set it ran long.
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, Math.ceil(wait));
      // A pending flush must not keep the process alive.
      this.timer.unref();
    }
  }

  private flush(): void {
    if (this.closed || !this.dirty) return;
    if (this.fd === undefined) {
      this.opening = true;
      open(this.walPath, 'r', (err, fd) => {
        this.opening = false;
        if (err) return; // no -wal file (yet): nothing to flush, the next commit tries again
        this.fd = fd;
        if (this.closed) this.closeFd();
        else this.flush();
      });
      return;
    }
    this.dirty = false;
    this.flushing = true;
    this.lastStartMs = performance.now();
    // An error is SQLite's to meet at its own fsync; this flush only saves it time.
    this.flushFd(this.fd, () => {
      this.flushing = false;
      if (this.closed) this.closeFd();
      else if (this.dirty) this.schedule();
    });
  }

  private closeFd(): void {
    const fd = this.fd;
    this.fd = undefined;
    if (fd !== undefined) close(fd, () => {});
  }
}
