import { readFileSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ShardTombstones } from '../../application/ports/shard-tombstones.js';
import { fsyncDir } from '../wal-file/file-io.js';

/**
 * Its name in the data directory: '@' is one of the characters a namespace's directory name
 * never holds (they are URI-component encoded), so no namespace can collide with it.
 */
export const TOMBSTONE_FILE_NAME = '@deleted-shards';

/**
 * The deleted shards in one file of the data directory, a decimal shard id per line, appended
 * and synced for each deletion (a node deletes a shard once, so the file stays small). Read
 * once, when the node starts. A last line without its newline is an append that never
 * completed, whose deletion therefore never went ahead: it is ignored (and rewritten whole by
 * the next append). Any other line that is not a shard id fails the start, naming the file.
 */
export class FileShardTombstones implements ShardTombstones {
  private readonly path: string;
  private readonly deleted = new Set<bigint>();
  /** Those whose line is in the file (synced). */
  private readonly durable = new Set<bigint>();
  /** Appends run one after another, so lines never interleave. */
  private appending: Promise<void> = Promise.resolve();
  /** Bytes of the file that hold whole lines: an append starts here, over a torn last line. */
  private wholeBytes: number;

  constructor(private readonly dir: string) {
    this.path = join(dir, TOMBSTONE_FILE_NAME);
    let text = '';
    try {
      text = readFileSync(this.path, 'latin1');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    const end = text.lastIndexOf('\n') + 1;
    this.wholeBytes = end;
    for (const [i, line] of text.slice(0, end).split('\n').slice(0, -1).entries()) {
      if (!/^\d{1,20}$/.test(line)) throw new Error(`${this.path}: line ${i + 1} is not a shard id: ${JSON.stringify(line.slice(0, 40))}`);
      this.deleted.add(BigInt(line));
      this.durable.add(BigInt(line));
    }
  }

  has(shard: bigint): boolean {
    return this.deleted.has(shard);
  }

  add(shard: bigint): Promise<void> {
    if (shard < 0n) return Promise.reject(new Error(`bad shard id ${shard}`));
    this.deleted.add(shard);
    if (this.durable.has(shard)) return Promise.resolve();
    // Behind the appends under way; one of them may be this shard's already (a retried DeleteShard),
    // and one that failed is made again.
    const appended = this.appending.then(() => (this.durable.has(shard) ? undefined : this.append(shard)));
    // A failed append fails its own caller; the next one still runs.
    this.appending = appended.catch(() => undefined);
    return appended;
  }

  private async append(shard: bigint): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const created = this.wholeBytes === 0;
    const fh = await open(this.path, created ? 'w' : 'r+');
    try {
      const line = Buffer.from(`${shard}\n`, 'latin1');
      await fh.write(line, 0, line.length, this.wholeBytes);
      await fh.truncate(this.wholeBytes + line.length);
      await fh.datasync();
      this.wholeBytes += line.length;
      this.durable.add(shard);
    } finally {
      await fh.close();
    }
    if (created) await fsyncDir(this.dir);
  }
}
