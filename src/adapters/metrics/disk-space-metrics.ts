/**
 * Free and total space of the file systems a storage node writes to (its data and WAL
 * directories), read at scrape time and at most every few seconds: what a "disk nearly full"
 * alert needs without a node exporter beside the process. Oxia has no such series; the
 * names follow node_exporter's meaning (bytes available to the process, not to root).
 */
import { statfs } from 'node:fs/promises';
import type { ServiceIdentifier } from 'inversify';
import type { GaugeMetric, Metrics } from '../../application/ports/metrics.js';

/** The directories, by the `dir` label they are exported with ("data", "wal"). */
export type DiskSpaceDirs = Readonly<Record<string, string>>;
export const DiskSpaceDirs: ServiceIdentifier<DiskSpaceDirs> = Symbol.for('oxia.DiskSpaceDirs');

/** statfs is cheap but a scrape per second is possible: read at most this often. */
export const DISK_SPACE_REFRESH_MS = 5_000;

export class DiskSpaceMetrics {
  private readonly free: GaugeMetric;
  private readonly size: GaugeMetric;
  private readAtMs = Number.NEGATIVE_INFINITY;
  private unregister: (() => void) | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly dirs: DiskSpaceDirs,
  ) {
    this.free = metrics.gauge('oxia_server_disk_free_bytes', 'Bytes available to the process on the file system of each directory (dir: data, wal)', ['dir']);
    this.size = metrics.gauge('oxia_server_disk_size_bytes', 'Size of the file system of each directory (dir: data, wal)', ['dir']);
  }

  start(): void {
    this.unregister ??= this.metrics.onScrape(() => this.refresh());
  }

  close(): void {
    this.unregister?.();
    this.unregister = undefined;
  }

  private async refresh(): Promise<void> {
    const nowMs = performance.now();
    if (nowMs - this.readAtMs < DISK_SPACE_REFRESH_MS) return;
    this.readAtMs = nowMs;
    await Promise.all(
      Object.entries(this.dirs).map(async ([dir, path]) => {
        try {
          const fs = await statfs(path);
          this.free.set({ dir }, fs.bavail * fs.bsize);
          this.size.set({ dir }, fs.blocks * fs.bsize);
        } catch {
          // A directory not there (yet, or any more) has no space to report.
          this.free.remove({ dir });
          this.size.remove({ dir });
        }
      }),
    );
  }
}
