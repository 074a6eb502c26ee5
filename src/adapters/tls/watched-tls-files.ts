/**
 * TLS files kept in service while they change: read and checked at start (a bad file is an
 * error naming it), then polled (files/polled-files.ts); when one changes, all are read
 * again and, if they pass the checks, handed to the listeners. A bad or half-written file
 * at rotation is logged and the previous material stays in service; the next change is
 * tried again.
 */
import type { Logger } from '../../application/ports/logger.js';
import { FILE_POLL_INTERVAL_MS, PolledFiles } from '../files/polled-files.js';
import { readTlsMaterial, sameTlsMaterial, TlsFileError, type TlsFilePaths, type TlsMaterial } from './tls-files.js';

/** How often the files are looked at; a rotated certificate is served within about this. */
export const TLS_FILE_POLL_INTERVAL_MS = FILE_POLL_INTERVAL_MS;

export type TlsMaterialListener = (material: TlsMaterial) => void;

export class WatchedTlsFiles {
  private current: TlsMaterial;
  private readonly listeners = new Set<TlsMaterialListener>();
  private readonly polled: PolledFiles;

  /** Throws TlsFileError when a file is missing or bad. */
  constructor(
    readonly paths: TlsFilePaths,
    private readonly log: Logger,
    pollIntervalMs = TLS_FILE_POLL_INTERVAL_MS,
  ) {
    this.current = readTlsMaterial(paths);
    const files = [paths.certFile, paths.keyFile, paths.trustedCaFile].filter((f): f is string => f !== undefined);
    this.polled = new PolledFiles(files, () => this.reload(), pollIntervalMs);
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
    this.polled.close();
    this.listeners.clear();
  }

  private reload(): void {
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
