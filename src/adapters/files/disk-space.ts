/**
 * Free and total space of the file systems under the node's storage directories (statfs),
 * with the last reading of each directory kept: the free-space watch reads every second
 * (DiskProbe.shortage, ADR 0029) and the disk space metrics export what it last read, so
 * that one reader asks the kernel, not two on their own schedules.
 */
import { statfsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import { injectable } from 'inversify';

export interface DirectorySpace {
  /** Bytes available to unprivileged writers (statfs bavail), as node_exporter's avail. */
  readonly freeBytes: number;
  readonly sizeBytes: number;
}

@injectable()
export class DiskSpaceReadings {
  private readonly last = new Map<string, DirectorySpace>();

  /**
   * The space on the file system of `dir`, or of its nearest existing parent while `dir` is
   * not there yet (the free-space check must not wait for the first shard). Only a reading
   * of `dir` itself is kept: a directory not there has no space of its own to report.
   */
  async read(dir: string): Promise<DirectorySpace> {
    try {
      const space = await spaceAt(dir);
      this.last.set(dir, space);
      return space;
    } catch (e) {
      this.last.delete(dir);
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(dir) === dir) throw e;
    }
    for (let at = dirname(dir); ; at = dirname(at)) {
      try {
        return await spaceAt(at);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw e;
      }
    }
  }

  /**
   * The last reading of `dir`, or one taken now when there is none yet: a directory made after
   * the watch's last reading (the first shard's) is reported from the first scrape, not a
   * second later. Undefined while `dir` is not there.
   */
  lastOrNow(dir: string): DirectorySpace | undefined {
    const known = this.last.get(dir);
    if (known) return known;
    try {
      const space = spaceOf(statfsSync(dir));
      this.last.set(dir, space);
      return space;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }
}

async function spaceAt(path: string): Promise<DirectorySpace> {
  return spaceOf(await statfs(path));
}

function spaceOf(fs: { readonly bavail: number; readonly blocks: number; readonly bsize: number }): DirectorySpace {
  return { freeBytes: fs.bavail * fs.bsize, sizeBytes: fs.blocks * fs.bsize };
}
