import type { OxiaError } from '../../domain/errors/oxia-error.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { StorageProbe } from '../ports/storage-probe.js';

/** How often free space is compared with --min-free-disk-bytes. */
export const FREE_SPACE_CHECK_INTERVAL_MS = 1_000;

/**
 * Stops writes before the disk is completely full (ADR 0029): at start and then every
 * second, free space is checked (statfs, no write) and, below the threshold, `onShortage`
 * gets the DiskFull error for the node's shards to stop writing (each recovers by itself
 * once its probe passes). The node's disk space metrics show what these checks read.
 */
export class FreeSpaceWatch {
  private cancel: (() => void) | undefined;
  private closed = false;

  constructor(
    private readonly probe: StorageProbe,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly onShortage: (error: OxiaError) => void,
  ) {}

  start(): void {
    this.schedule(0);
  }

  close(): void {
    this.closed = true;
    this.cancel?.();
  }

  private schedule(delayMs = FREE_SPACE_CHECK_INTERVAL_MS): void {
    if (this.closed) return;
    this.cancel = this.clock.schedule(delayMs, () => {
      void this.probe.shortage().then(
        (shortage) => {
          if (shortage && !this.closed) this.onShortage(shortage);
          this.schedule();
        },
        (e: unknown) => {
          this.log.warn('free space check failed', { error: String(e) });
          this.schedule();
        },
      );
    });
  }
}
