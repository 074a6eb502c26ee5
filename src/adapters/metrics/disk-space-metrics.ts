/**
 * Free and total space of the file systems a storage node writes to (its data and WAL
 * directories), as the free-space watch last read them (every second, adapters/files/
 * disk-space.ts): what a "disk nearly full" alert needs without a node exporter beside the
 * process. Oxia has no such series; the names follow node_exporter's meaning (bytes
 * available to the process, not to root).
 */
import type { ServiceIdentifier } from 'inversify';
import type { GaugeMetric, Metrics } from '../../application/ports/metrics.js';
import type { DiskSpaceReadings } from '../files/disk-space.js';

/** The directories, by the `dir` label they are exported with ("data", "wal"). */
export type DiskSpaceDirs = Readonly<Record<string, string>>;
export const DiskSpaceDirs: ServiceIdentifier<DiskSpaceDirs> = Symbol.for('oxia.DiskSpaceDirs');

export class DiskSpaceMetrics {
  private readonly free: GaugeMetric;
  private readonly size: GaugeMetric;
  private unregister: (() => void) | undefined;

  constructor(
    private readonly metrics: Metrics,
    private readonly dirs: DiskSpaceDirs,
    private readonly readings: DiskSpaceReadings,
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

  private refresh(): void {
    for (const [dir, path] of Object.entries(this.dirs)) {
      const space = this.readings.lastOrNow(path);
      if (space) {
        this.free.set({ dir }, space.freeBytes);
        this.size.set({ dir }, space.sizeBytes);
      } else {
        // Not read yet, or the directory is not there (yet, or any more): no space to report.
        this.free.remove({ dir });
        this.size.remove({ dir });
      }
    }
  }
}
