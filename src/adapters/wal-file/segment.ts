import type { FileHandle } from 'node:fs/promises';
import { scanSegmentRecords } from './segment-scan.js';

const INITIAL_INDEX_CAPACITY = 1024;
const NO_TIMESTAMP = -(2n ** 63n);

/** Where each record of a segment starts in its file, and its CRC. */
interface SegmentIndex {
  positions: Uint32Array;
  crcs: Uint32Array;
}

/**
 * One segment file and its index: for the i-th record (offset firstOffset+i) its file
 * position and its CRC (so reads can check the chain from any record without reading the
 * one before). Positions fit 32 bits: segments stay below 2 GiB (see options).
 *
 * Records are staged (written into the index beyond `count`) before their bytes reach
 * the file, and committed after: readers only look at the first `count` records.
 *
 * The index costs 8 bytes per record. A sealed segment (one that no longer takes appends)
 * may drop it (dropIndex) and rebuild it from its file when read again (loadIndex), so a
 * log's memory does not grow with the number of entries it retains; everything else about
 * the segment stays known.
 */
export class Segment {
  private index: SegmentIndex | undefined = {
    positions: new Uint32Array(INITIAL_INDEX_CAPACITY),
    crcs: new Uint32Array(INITIAL_INDEX_CAPACITY),
  };
  private loading: Promise<void> | undefined;
  private dropWhenIdle = false;
  /** The CRC of the last committed record (the header's when none): checks a rebuilt index. */
  private lastRecordCrc: number;
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
  constructor(
    readonly fh: FileHandle,
    /** Opened O_DSYNC: a write returns once durable, so no fdatasync is needed after it. */
    readonly durableWrites: boolean,
    readonly path: string,
    readonly name: string,
    readonly firstOffset: bigint,
    readonly headerCrc: number,
    headerBytes: number,
  ) {
    this.sizeBytes = headerBytes;
    this.lastRecordCrc = headerCrc;
  }

  /** Offset of the newest committed record (firstOffset - 1 when empty). */
  lastOffset(): bigint {
    return this.firstOffset + BigInt(this.count) - 1n;
  }

  holds(offset: bigint): boolean {
    return offset >= this.firstOffset && offset < this.firstOffset + BigInt(this.count);
  }

  /** Whether the index is in memory: positions and CRCs can be asked for. */
  get indexed(): boolean {
    return this.index !== undefined;
  }

  positionOf(i: number): number {
    return this.requireIndex().positions[i]!;
  }

  /** File position just past record i. */
  endOf(i: number): number {
    return i + 1 < this.count ? this.requireIndex().positions[i + 1]! : this.sizeBytes;
  }

  crcOf(i: number): number {
    return this.requireIndex().crcs[i]!;
  }

  /** The CRC record i is chained to. */
  crcBefore(i: number): number {
    return i === 0 ? this.headerCrc : this.requireIndex().crcs[i - 1]!;
  }

  /** The CRC the next appended record chains to. */
  lastCrc(): number {
    return this.lastRecordCrc;
  }

  /** Puts record `count + k` into the index without making it visible. */
  stage(k: number, position: number, crc: number): void {
    const index = this.requireIndex();
    const i = this.count + k;
    if (i >= index.positions.length) this.grow(index, i + 1);
    index.positions[i] = position;
    index.crcs[i] = crc;
  }

  /** Makes `n` staged records visible once their bytes are in the file. */
  commit(n: number, sizeBytes: number, maxTimestamp: bigint): void {
    this.count += n;
    this.sizeBytes = sizeBytes;
    if (n > 0) this.lastRecordCrc = this.crcBefore(this.count);
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp;
  }

  /** Keeps the first `n` records in the index (the file is cut by the caller). The index must be loaded. */
  truncateIndex(n: number): void {
    if (n < 1 || n > this.count) throw new Error(`assertion: cannot keep ${n} of ${this.count} records`);
    this.sizeBytes = this.endOf(n - 1);
    this.count = n;
    this.lastRecordCrc = this.crcBefore(n);
  }

  /**
   * The segment takes no more appends: its index shrinks to its records (it grew by
   * doubling). Staged records of a failed round are dropped with the rest beyond `count`.
   */
  seal(): void {
    const index = this.index;
    if (index === undefined || index.positions.length === this.count) return;
    this.index = { positions: index.positions.slice(0, this.count), crcs: index.crcs.slice(0, this.count) };
  }

  /**
   * Forgets the index of a sealed segment (the caller knows it takes no appends); it is
   * rebuilt from the file when needed. A read in progress keeps it until it ends.
   */
  dropIndex(): void {
    if (this.readers > 0) {
      this.dropWhenIdle = true;
      return;
    }
    this.index = undefined;
  }

  /**
   * Rebuilds a dropped index by scanning the file, which must still hold exactly the
   * records it was sealed with (the CRC chain and the last CRC are checked). Concurrent
   * callers share one scan; the caller holds the segment (acquire) meanwhile.
   */
  loadIndex(): Promise<void> {
    this.dropWhenIdle = false;
    if (this.index !== undefined) return Promise.resolve();
    this.loading ??= this.scanIndex().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async scanIndex(): Promise<void> {
    const count = this.count;
    const index: SegmentIndex = { positions: new Uint32Array(count), crcs: new Uint32Array(count) };
    const scan = await scanSegmentRecords(this.fh, this.firstOffset, this.headerCrc, this.sizeBytes, (i, position, crc) => {
      if (i >= count) return 'more records than when the segment was sealed';
      index.positions[i] = position;
      index.crcs[i] = crc;
      return undefined;
    });
    const lastCrc = count === 0 ? this.headerCrc : index.crcs[count - 1];
    if (scan.stop !== undefined || scan.end !== this.sizeBytes || lastCrc !== this.lastRecordCrc) {
      throw new Error(`WAL ${this.path}: the file no longer holds the ${count} records it was sealed with (${scan.stop ?? 'CRC chain differs'})`);
    }
    // A truncation may not run meanwhile (the log loads the index before truncating), so count still holds.
    this.index = index;
  }

  private requireIndex(): SegmentIndex {
    if (this.index === undefined) throw new Error(`assertion: the index of WAL segment ${this.path} is not loaded`);
    return this.index;
  }

  private grow(index: SegmentIndex, needed: number): void {
    let capacity = Math.max(index.positions.length * 2, INITIAL_INDEX_CAPACITY);
    while (capacity < needed) capacity *= 2;
    const positions = new Uint32Array(capacity);
    positions.set(index.positions); // staged records too
    const crcs = new Uint32Array(capacity);
    crcs.set(index.crcs);
    index.positions = positions;
    index.crcs = crcs;
  }

  /** A reader holds the file open (and the index loaded) across an await; see retire() and dropIndex(). */
  acquire(): void {
    this.readers++;
  }

  release(): void {
    this.readers--;
    if (this.readers > 0) return;
    if (this.dropWhenIdle) {
      this.dropWhenIdle = false;
      this.index = undefined;
    }
    if (this.retired) void this.closeFile();
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
