/**
 * StorageProbe on the local filesystems of the node's data and WAL directories: free space
 * by statfs against `--min-free-disk-bytes`, and a real write (a small file written, synced
 * and removed) to tell that the disk takes writes again (ADR 0029).
 */
import { mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { inject, injectable } from 'inversify';
import type { StorageProbe } from '../../application/ports/storage-probe.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { DiskSpaceReadings } from './disk-space.js';
import { storageFailureOf } from './storage-failure.js';

export interface DiskProbeOptions {
  /** The directories whose filesystems hold the logs and the stores. */
  readonly dirs: readonly string[];
  /** Writes are refused while free space (for unprivileged users) is below this; 0: only a full disk refuses them. */
  readonly minFreeBytes: number;
}
export const DiskProbeOptions = Symbol.for('oxia.DiskProbeOptions');

/** Big enough to need a fresh block on any filesystem, small enough to fit in the reserve. */
const PROBE_BYTES = 4096;

@injectable()
export class DiskProbe implements StorageProbe {
  private readonly probeName = `.oxia-write-probe-${process.pid}`;

  constructor(
    @inject(DiskProbeOptions) private readonly options: DiskProbeOptions,
    /** Shared with the disk space metrics, which export what this last read. */
    @inject(DiskSpaceReadings) private readonly space: DiskSpaceReadings = new DiskSpaceReadings(),
  ) {}

  /** Reads every directory's space also without a threshold: the metrics show these readings. */
  async shortage(): Promise<OxiaError | undefined> {
    const checked = this.options.minFreeBytes > 0;
    for (const dir of new Set(this.options.dirs)) {
      let free: number;
      try {
        free = (await this.space.read(dir)).freeBytes;
      } catch (e) {
        if (!checked) continue;
        return storageFailureOf(e, `free space check of ${dir}`) ?? new OxiaError('StorageFailed', `free space check of ${dir} failed: ${String(e)}`);
      }
      if (checked && free < this.options.minFreeBytes) {
        return new OxiaError('DiskFull', `disk full: ${free} bytes free under ${dir}, below --min-free-disk-bytes ${this.options.minFreeBytes}`);
      }
    }
    return undefined;
  }

  async probeWrite(): Promise<OxiaError | undefined> {
    const short = await this.shortage();
    if (short) return short;
    for (const dir of new Set(this.options.dirs)) {
      const path = join(dir, this.probeName);
      try {
        await mkdir(dir, { recursive: true });
        const fh = await open(path, 'w');
        try {
          await fh.writeFile(Buffer.alloc(PROBE_BYTES));
          await fh.datasync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        return storageFailureOf(e, `write probe in ${dir}`) ?? new OxiaError('StorageFailed', `write probe in ${dir} failed: ${String(e)}`);
      } finally {
        await unlink(path).catch(() => undefined);
      }
    }
    return undefined;
  }
}
