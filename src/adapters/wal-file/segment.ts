import type { FileHandle } from 'node:fs/promises';

const INITIAL_INDEX_CAPACITY = 1024;
const NO_TIMESTAMP = -(2n ** 63n);

/**
 * One segment file and its in-memory index: for the i-th record (offset firstOffset+i)
 * its file position and its CRC (so reads can check the chain from any record without
 * reading the one before). Positions fit 32 bits: segments stay below 2 GiB (see options).
 *
 * Records are staged (written into the index beyond `count`) before their bytes reach
 * the file, and committed after: readers only look at the first `count` records.
 */
export class Segment {
  private positions = new Uint32Array(INITIAL_INDEX_CAPACITY);
  private crcs = new Uint32Array(INITIAL_INDEX_CAPACITY);
  private readers = 0;
  private retired = false;
  private closed: Promise<void> | undefined;
  /** Records committed to the file (and visible to readers). */
  count = 0;
  /** Bytes of the file that hold the header and committed records. */
  sizeBytes: number;
  /**
   * Newest timestamp of any record ever committed here. Truncation does not lower it:
   * over-estimating only makes retention keep a segment longer.
   */
  maxTimestamp = NO_TIMESTAMP;
  /** Written since the last fdatasync. */
  dirty = false;

  constructor(
    readonly fh: FileHandle,
    readonly path: string,
    readonly name: string,
    readonly firstOffset: bigint,
    readonly headerCrc: number,
    headerBytes: number,
  ) {
    this.sizeBytes = headerBytes;
  }

  /** Offset of the newest committed record (firstOffset - 1 when empty). */
  lastOffset(): bigint {
    return this.firstOffset + BigInt(this.count) - 1n;
  }

  holds(offset: bigint): boolean {
    return offset >= this.firstOffset && offset < this.firstOffset + BigInt(this.count);
  }

  positionOf(i: number): number {
    return this.positions[i]!;
  }

  /** File position just past record i. */
  endOf(i: number): number {
    return i + 1 < this.count ? this.positions[i + 1]! : this.sizeBytes;
  }

  crcOf(i: number): number {
    return this.crcs[i]!;
  }

  /** The CRC record i is chained to. */
  crcBefore(i: number): number {
    return i === 0 ? this.headerCrc : this.crcs[i - 1]!;
  }

  /** The CRC the next appended record chains to. */
  lastCrc(): number {
    return this.crcBefore(this.count);
  }

  /** Puts record `count + k` into the index without making it visible. */
  stage(k: number, position: number, crc: number): void {
    const i = this.count + k;
    if (i >= this.positions.length) this.grow(i + 1);
    this.positions[i] = position;
    this.crcs[i] = crc;
  }

  /** Makes `n` staged records visible once their bytes are in the file. */
  commit(n: number, sizeBytes: number, maxTimestamp: bigint): void {
    this.count += n;
    this.sizeBytes = sizeBytes;
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp;
    this.dirty = true;
  }

  /** Keeps the first `n` records in the index (the file is cut by the caller). */
  truncateIndex(n: number): void {
    if (n < 1 || n > this.count) throw new Error(`assertion: cannot keep ${n} of ${this.count} records`);
    this.sizeBytes = this.endOf(n - 1);
    this.count = n;
  }

  private grow(needed: number): void {
    let capacity = this.positions.length * 2;
    while (capacity < needed) capacity *= 2;
    const positions = new Uint32Array(capacity);
    positions.set(this.positions); // staged records too
    const crcs = new Uint32Array(capacity);
    crcs.set(this.crcs);
    this.positions = positions;
    this.crcs = crcs;
  }

  /** A reader holds the file open across an await; see retire(). */
  acquire(): void {
    this.readers++;
  }

  release(): void {
    this.readers--;
    if (this.retired && this.readers === 0) void this.closeFile();
  }

  /**
   * The segment left the log (deleted, or the log closed). Its file handle closes once
   * no read is in flight on it, so a reader never sees a closed or reused descriptor.
   */
  retire(): Promise<void> {
    this.retired = true;
    return this.readers === 0 ? this.closeFile() : Promise.resolve();
  }

  private closeFile(): Promise<void> {
    // A close error leaves nothing to repair: the descriptor is gone either way.
    this.closed ??= this.fh.close().catch(() => undefined);
    return this.closed;
  }
}
