/**
 * TLS files kept in service while they change: read and checked at start (a bad file is an
 * error naming it), then polled; when one changes, all are read again after a short pause
 * (a certificate and its key are rarely replaced in the same instant) and, if they pass the
 * checks, handed to the listeners. A bad or half-written file at rotation is logged and the
 * previous material stays in service; the next change is tried again.
 *
 * Polling (stat) rather than inotify: rotation usually replaces files (rename, a Kubernetes
 * secret's symlink swap), which an inotify watch on the old inode would not see.
 */
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from '../../application/ports/logger.js';
import { readTlsMaterial, sameTlsMaterial, TlsFileError, type TlsFilePaths, type TlsMaterial } from './tls-files.js';

/** How often the files are looked at; a rotated certificate is served within about this. */
export const TLS_FILE_POLL_INTERVAL_MS = 1_000;
/** Wait after a change before reading, so that a certificate and key replaced together are read together. */
const SETTLE_MS = 200;

export type TlsMaterialListener = (material: TlsMaterial) => void;

export class WatchedTlsFiles {
  private current: TlsMaterial;
  private readonly listeners = new Set<TlsMaterialListener>();
  private readonly files: string[];
  private settle: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly changed = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.ino === before.ino && now.size === before.size) return;
    clearTimeout(this.settle);
    this.settle = setTimeout(() => this.reload(), SETTLE_MS);
    this.settle.unref();
  };

  /** Throws TlsFileError when a file is missing or bad. */
  constructor(
    readonly paths: TlsFilePaths,
    private readonly log: Logger,
    pollIntervalMs = TLS_FILE_POLL_INTERVAL_MS,
  ) {
    this.current = readTlsMaterial(paths);
    this.files = [paths.certFile, paths.keyFile, paths.trustedCaFile].filter((f): f is string => f !== undefined);
    for (const file of this.files) watchFile(file, { persistent: false, interval: pollIntervalMs }, this.changed);
  }

  /** What is in service now. */
  get material(): TlsMaterial {
    return this.current;
  }

  /** Called with each new material that passed the checks. */
  onChange(listener: TlsMaterialListener): void {
    this.listeners.add(listener);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.settle);
    for (const file of this.files) unwatchFile(file, this.changed);
    this.listeners.clear();
  }

  private reload(): void {
    if (this.closed) return;
    let next: TlsMaterial;
    try {
      next = readTlsMaterial(this.paths);
    } catch (e) {
      const fields = e instanceof TlsFileError ? { file: e.file, error: e.message } : { error: String(e) };
      this.log.warn('TLS files changed but cannot be used; the previous certificate stays in service', fields);
      return;
    }
    if (sameTlsMaterial(next, this.current)) return;
    this.current = next;
    this.log.info('TLS files reloaded', { ...this.paths });
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (e) {
        this.log.warn('applying reloaded TLS files failed; the previous certificate stays in service', { error: String(e) });
      }
    }
  }
}
