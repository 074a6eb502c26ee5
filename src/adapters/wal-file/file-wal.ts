// A shard's write-ahead log in segment files (format: record-format.ts, ADR/0003).
//
// Concurrency model: every call that changes the log is validated and applied to the
// "accepted" view (head, first offset, terms) synchronously, in call order, then queued.
// One worker drains the queue in order. Consecutive appends form a round: written with
// one writev per segment, then one fdatasync per segment touched, then resolved; appends
// arriving meanwhile wait for the next round (group commit, at most one fsync in flight).
// A round starts at once: callers that append entry by entry gather what arrives in one
// turn of the event loop into one append themselves (the follower does).
// Readers see what has been written (the committed part of each segment's index), which
// includes everything whose append resolved.
import { randomInt } from 'node:crypto';
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Wal } from '../../application/ports/wal.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { INVALID_ENTRY_ID, type EntryId, type LogEntry } from '../../domain/wal/log-entry.js';
import { storageFailureOf } from '../files/storage-failure.js';
import { fsyncDir, openSegmentFile, readFully, writeFully } from './file-io.js';
import {
  SEGMENT_HEADER_BYTES,
  checkRecord,
  decodeRecord,
  encodeRecords,
  encodeSegmentHeader,
  recordBytes,
  sealRecords,
  segmentFileName,
} from './record-format.js';
import { recoverLog, type WalRecoveryCut } from './recovery.js';
import { Segment } from './segment.js';
import type { TermIndex } from './term-index.js';
import { SEGMENT_SIZE_BYTES_MAX, type ResolvedWalFileOptions } from './wal-file-options.js';
import type { WalRoundObserver } from './wal-metrics.js';

/** Bounds on one group-commit round: enough to amortise the fsync, small enough to keep latency even. */
const ROUND_BYTES_MAX = 16 * 1024 * 1024;
const ROUND_APPENDS_MAX = 1024;
/** Bytes a reader fetches per file read (a larger record is read whole). */
const READ_CHUNK_BYTES = 1024 * 1024;
/**
 * Sealed segments whose index stays in memory besides the active one's, most recently
 * sealed or read first: enough for followers catching up and applies reading back what was
 * just written, while a log that retains many segments keeps the rest on disk only (an
 * index costs 8 bytes per entry; a reader of an older segment rebuilds it by a scan).
 */
export const SEALED_INDEXES_KEPT = 2;
const MIN_TIMESTAMP = -(2n ** 63n);

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

type Command = Waiter &
  (
    | { readonly kind: 'append'; readonly records: Buffer; readonly first: bigint; readonly count: number; readonly maxTimestamp: bigint }
    | { readonly kind: 'truncate'; readonly offset: bigint; readonly reset: boolean }
    | { readonly kind: 'trim'; readonly offset: bigint }
    | { readonly kind: 'expire'; readonly olderThanMs: bigint; readonly notAfterOffset: bigint }
    | { readonly kind: 'clear' }
    | { readonly kind: 'close' }
  );
type AppendCommand = Extract<Command, { kind: 'append' }>;
// Distributes over the union, so each variant keeps its own fields.
type CommandBody<C = Command> = C extends Command ? Omit<C, keyof Waiter> : never;

export class FileWal implements Wal {
  /** Segments in offset order; the last one takes appends. Only the worker changes this list. */
  private segments: Segment[];
  /** Sealed segments whose index is in memory, least recently used first (at most SEALED_INDEXES_KEPT). */
  private readonly sealedIndexed: Segment[] = [];
  // The accepted view: what the log will be once the queue is drained.
  private head: EntryId;
  private acceptedFirst: bigint;
  /** Queued clear()s and truncations to empty: until they run, the segments do not tell the first offset. */
  private resetsQueued = 0;

  private readonly queue: Command[] = [];
  private queuedBytes = 0;
  private working = false;
  /** Set when a write, sync or file operation failed: the files no longer match memory, so everything fails until reopened. */
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private closed = false;
  /** Bumped when records may be rewritten in place (truncation, clear): readers re-check what they read. */
  private layoutEpoch = 0;
  private syncs = 0;

  private constructor(
    readonly dir: string,
    private readonly options: ResolvedWalFileOptions,
    segments: Segment[],
    private readonly terms: TermIndex,
    /** What opening cut off the log (a torn or corrupt tail), for the caller to log; undefined when the log was intact. */
    readonly recoveryCut: WalRecoveryCut | undefined,
    private readonly onClosed: () => void,
    private readonly observer: WalRoundObserver | undefined,
  ) {
    this.segments = segments;
    const last = segments[segments.length - 1];
    this.head = last === undefined ? INVALID_ENTRY_ID : { term: terms.termAt(last.lastOffset()), offset: last.lastOffset() };
    this.acceptedFirst = segments[0]?.firstOffset ?? -1n;
    for (const seg of segments.slice(0, -1)) if (seg.indexed) this.useIndex(seg);
  }

  /** Opens (creating when missing) the log in `dir`, recovering from a torn or corrupt tail. */
  static async open(
    dir: string,
    options: ResolvedWalFileOptions,
    onClosed: () => void = () => undefined,
    observer?: WalRoundObserver,
  ): Promise<FileWal> {
    const { segments, terms, cut } = await recoverLog(dir, options.syncData, SEALED_INDEXES_KEPT);
    return new FileWal(dir, options, segments, terms, cut, onClosed, observer);
  }

  /**
   * Durable writes made so far to make appends durable, one per round and segment: O_DSYNC
   * writes, or fdatasyncs where the platform has no O_DSYNC (group commit makes this far
   * below the append count).
   */
  get syncCount(): number {
    return this.syncs;
  }

  /** Segment files currently making up the log, oldest first. */
  segmentFiles(): string[] {
    return this.segments.map((s) => s.name);
  }

  /** How many segments hold their index in memory (at most SEALED_INDEXES_KEPT + 1 once no read is in progress). */
  indexedSegmentCount(): number {
    return this.segments.filter((s) => s.indexed).length;
  }

  firstOffset(): bigint {
    if (this.resetsQueued === 0 && this.segments.length > 0) return this.segments[0]!.firstOffset;
    return this.acceptedFirst;
  }

  lastEntryId(): EntryId {
    return this.head;
  }

  append(entries: readonly LogEntry[]): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    if (entries.length === 0) return Promise.resolve();
    let prev = this.head;
    let bytes = 0;
    let maxTimestamp = MIN_TIMESTAMP;
    for (const e of entries) {
      if (prev.offset === -1n ? e.offset < 0n : e.offset !== prev.offset + 1n) {
        const expected = prev.offset === -1n ? 'an offset >= 0' : `offset ${prev.offset + 1n}`;
        return Promise.reject(new OxiaError('InvalidArgument', `WAL append: got offset ${e.offset}, expected ${expected}`));
      }
      if (e.term < 0n) return Promise.reject(new OxiaError('InvalidTerm', `WAL append: entry ${e.offset} has negative term ${e.term}`));
      if (e.term < prev.term) {
        return Promise.reject(new OxiaError('InvalidTerm', `WAL append: entry ${e.offset} has term ${e.term}, below term ${prev.term} of the entry before`));
      }
      if (e.timestamp > maxTimestamp) maxTimestamp = e.timestamp;
      bytes += recordBytes(e);
      prev = e;
    }
    if (bytes > SEGMENT_SIZE_BYTES_MAX) {
      return Promise.reject(new OxiaError('LimitExceeded', `WAL append of ${bytes} bytes exceeds ${SEGMENT_SIZE_BYTES_MAX}`));
    }
    // A single append always gets in, so the bound cannot wedge a caller with a large batch.
    if (this.queuedBytes > 0 && this.queuedBytes + bytes > this.options.queuedBytesMax) {
      return Promise.reject(new OxiaError('ResourceUnavailable', `WAL write queue holds ${this.queuedBytes} bytes, limit ${this.options.queuedBytesMax}`));
    }
    let records: Buffer;
    try {
      records = encodeRecords(entries, bytes);
    } catch (e) {
      // Buffer's int64 writers refuse terms, offsets or timestamps outside 64 bits.
      return Promise.reject(new OxiaError('InvalidArgument', `WAL append: entry not encodable (${e instanceof Error ? e.message : String(e)})`));
    }
    const first = entries[0]!.offset;
    if (this.head.offset === -1n) this.acceptedFirst = first;
    for (const e of entries) this.terms.note(e.offset, e.term);
    this.head = { term: prev.term, offset: prev.offset };
    this.queuedBytes += bytes;
    return this.enqueue({ kind: 'append', records, first, count: entries.length, maxTimestamp });
  }

  async *read(fromOffset: bigint): AsyncIterable<LogEntry> {
    let next = fromOffset;
    for (;;) {
      if (this.closed) throw new OxiaError('Closed', `WAL ${this.dir} is closed`);
      const segments = this.segments;
      const oldest = segments[0];
      const newest = segments[segments.length - 1];
      if (oldest === undefined || newest === undefined) return;
      if (next < oldest.firstOffset) {
        throw new OxiaError('InvalidArgument', `WAL read from offset ${next}: the log starts at offset ${oldest.firstOffset} (older entries were trimmed)`);
      }
      if (next > newest.lastOffset()) return;
      const seg = segmentHolding(segments, next);
      const entries: LogEntry[] = [];
      let j: number;
      // Held from here: the file stays open and the index loaded until the records are checked.
      seg.acquire();
      try {
        if (!seg.indexed) {
          await seg.loadIndex();
          // The log may have changed meanwhile (trimmed, truncated): look again.
          continue;
        }
        if (seg !== newest) this.useIndex(seg);
        const i = Number(next - seg.firstOffset);
        const start = seg.positionOf(i);
        j = i;
        while (j + 1 < seg.count && seg.endOf(j + 1) - start <= READ_CHUNK_BYTES) j++;
        const end = seg.endOf(j);
        const epoch = this.layoutEpoch;
        const readStartedMs = this.observer ? performance.now() : 0;
        const buf = await readFully(seg.fh, start, end - start);
        this.observer?.chunkRead(end - start, performance.now() - readStartedMs);
        // A truncation during the read may have rewritten these bytes: look again.
        if (epoch !== this.layoutEpoch) continue;
        let prevCrc = seg.crcBefore(i);
        for (let k = i; k <= j; k++) {
          const pos = seg.positionOf(k) - start;
          const offset = seg.firstOffset + BigInt(k);
          const check = checkRecord(buf, pos, prevCrc, offset);
          if (!check.ok || check.crc !== seg.crcOf(k)) {
            throw new Error(`WAL ${seg.path}: record of offset ${offset} at byte ${seg.positionOf(k)} is corrupt (${check.ok ? 'CRC differs from when written' : check.reason})`);
          }
          entries.push(decodeRecord(buf, pos, check.size));
          prevCrc = check.crc;
        }
      } finally {
        seg.release();
      }
      for (const e of entries) yield e;
      next = seg.firstOffset + BigInt(j) + 1n;
    }
  }

  truncateAfter(offset: bigint): Promise<EntryId> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    if (this.head.offset === -1n || offset >= this.head.offset) return Promise.resolve(this.head);
    const reset = offset < this.firstOffset();
    const newHead = reset ? INVALID_ENTRY_ID : { term: this.terms.termAt(offset), offset };
    if (reset) this.acceptedReset();
    else this.terms.truncateAfter(offset);
    this.head = newHead;
    return this.enqueue({ kind: 'truncate', offset, reset }).then(() => newHead);
  }

  trimBefore(offset: bigint): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return this.enqueue({ kind: 'trim', offset });
  }

  expire(olderThanMs: bigint, notAfterOffset: bigint): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    return this.enqueue({ kind: 'expire', olderThanMs, notAfterOffset });
  }

  clear(): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) return Promise.reject(refused);
    this.acceptedReset();
    this.head = INVALID_ENTRY_ID;
    return this.enqueue({ kind: 'clear' });
  }

  /** Waits for queued work (appends become durable), then closes the files. Idempotent. */
  close(): Promise<void> {
    this.closing ??= this.enqueue({ kind: 'close' });
    return this.closing;
  }

  private refusal(): Error | undefined {
    if (this.closing !== undefined) return new OxiaError('Closed', `WAL ${this.dir} is closed`);
    return this.failure;
  }

  private acceptedReset(): void {
    this.resetsQueued++;
    this.acceptedFirst = -1n;
    this.terms.clear();
  }

  private enqueue(body: CommandBody): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...body, resolve, reject } as Command);
      if (!this.working) {
        this.working = true;
        void this.work();
      }
    });
  }

  private async work(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const cmd = this.queue[0]!;
        if (cmd.kind === 'append') {
          const round = this.takeRound();
          if (this.failure !== undefined) {
            for (const c of round) c.reject(this.failure);
            continue;
          }
          try {
            await this.writeRound(round);
          } catch (e) {
            const failure = this.fail(e);
            for (const c of round) c.reject(failure);
            continue;
          }
          for (const c of round) c.resolve();
          continue;
        }
        this.queue.shift();
        if (cmd.kind === 'truncate' && cmd.reset) this.resetsQueued--;
        if (cmd.kind === 'clear') this.resetsQueued--;
        if (this.failure !== undefined && cmd.kind !== 'close') {
          cmd.reject(this.failure);
          continue;
        }
        try {
          await this.runControl(cmd);
          cmd.resolve();
        } catch (e) {
          cmd.reject(cmd.kind === 'close' ? e : this.fail(e));
        }
      }
    } finally {
      this.working = false;
    }
  }

  /** Takes the consecutive appends at the head of the queue, within the round bounds (at least one). */
  private takeRound(): AppendCommand[] {
    let n = 0;
    let bytes = 0;
    for (; n < this.queue.length && n < ROUND_APPENDS_MAX; n++) {
      const c = this.queue[n]!;
      if (c.kind !== 'append' || (n > 0 && bytes + c.records.length > ROUND_BYTES_MAX)) break;
      bytes += c.records.length;
    }
    this.queuedBytes -= bytes;
    return this.queue.splice(0, n) as AppendCommand[];
  }

  private fail(e: unknown): Error {
    const cause = e instanceof Error ? e.message : String(e);
    // A full disk or an I/O error keeps its kind: the shard then recovers by reopening the log (ADR 0029).
    this.failure ??= storageFailureOf(e, `WAL ${this.dir}`) ?? new Error(`WAL ${this.dir} failed (${cause}); it must be closed and reopened`, { cause: e });
    return this.failure;
  }

  /** Writes a round's records (rolling to new segments as they fill), then makes them durable. */
  private async writeRound(round: readonly AppendCommand[]): Promise<void> {
    const startedMs = this.observer ? performance.now() : 0;
    const touched: Segment[] = [];
    let i = 0;
    while (i < round.length) {
      const first = round[i]!;
      let seg = this.segments[this.segments.length - 1];
      if (seg === undefined || (seg.count > 0 && seg.sizeBytes + first.records.length > this.options.segmentSizeBytes)) {
        seg = await this.createSegment(first.first);
      }
      if (first.first !== seg.lastOffset() + 1n) throw new Error(`assertion: append at ${first.first} after ${seg.lastOffset()} in ${seg.name}`);
      let end = i + 1;
      let bytes = first.records.length;
      while (end < round.length && seg.sizeBytes + bytes + round[end]!.records.length <= this.options.segmentSizeBytes) {
        bytes += round[end]!.records.length;
        end++;
      }
      await this.writeToSegment(seg, round.slice(i, end));
      if (!touched.includes(seg)) touched.push(seg);
      i = end;
    }
    const writtenMs = this.observer ? performance.now() : 0;
    let synced = false;
    if (this.options.syncData) {
      for (const seg of touched) {
        // An O_DSYNC segment's write was already durable when it returned.
        if (!seg.durableWrites) {
          await seg.fh.datasync();
          synced = true;
        }
        this.syncs++;
      }
    }
    if (this.observer) {
      // Segments written O_DSYNC were made durable by the write itself: its time is the round's sync time too.
      const syncMs = !this.options.syncData ? undefined : synced ? performance.now() - writtenMs : writtenMs - startedMs;
      this.observeRound(round, writtenMs - startedMs, syncMs);
    }
  }

  private observeRound(round: readonly AppendCommand[], writeMs: number, syncMs: number | undefined): void {
    let entries = 0;
    let bytes = 0;
    for (const c of round) {
      entries += c.count;
      bytes += c.records.length;
    }
    this.observer?.roundWritten(entries, bytes, writeMs, syncMs);
  }

  private async writeToSegment(seg: Segment, cmds: readonly AppendCommand[]): Promise<void> {
    let crc = seg.lastCrc();
    let pos = seg.sizeBytes;
    let staged = 0;
    let maxTimestamp = MIN_TIMESTAMP;
    for (const c of cmds) {
      const base = pos;
      crc = sealRecords(c.records, crc, (start, recordCrc) => seg.stage(staged++, base + start, recordCrc));
      pos += c.records.length;
      if (c.maxTimestamp > maxTimestamp) maxTimestamp = c.maxTimestamp;
    }
    await writeFully(seg.fh, cmds.map((c) => c.records), seg.sizeBytes);
    seg.commit(staged, pos, maxTimestamp);
  }

  private async createSegment(firstOffset: bigint): Promise<Segment> {
    const name = segmentFileName(firstOffset);
    const path = join(this.dir, name);
    const header = encodeSegmentHeader(firstOffset, randomInt(0x1_0000_0000));
    const { fh, durable } = await openSegmentFile(path, true, this.options.syncData);
    try {
      await writeFully(fh, [header.bytes], 0);
      // The file's data is synced with the round's records; its name must be durable first.
      if (this.options.syncData) await fsyncDir(this.dir);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw e;
    }
    const seg = new Segment(fh, durable, path, name, firstOffset, header.crc, SEGMENT_HEADER_BYTES);
    const sealed = this.segments[this.segments.length - 1];
    this.segments.push(seg);
    if (sealed !== undefined) {
      sealed.seal();
      this.useIndex(sealed);
    }
    return seg;
  }

  private async runControl(cmd: Exclude<Command, AppendCommand>): Promise<void> {
    switch (cmd.kind) {
      case 'truncate':
        return this.truncateFiles(cmd.offset);
      case 'trim':
        while (this.segments.length > 1 && this.segments[0]!.lastOffset() < cmd.offset) await this.removeOldest();
        return;
      case 'expire':
        while (
          this.segments.length > 1 &&
          this.segments[0]!.maxTimestamp < cmd.olderThanMs &&
          this.segments[0]!.lastOffset() < cmd.notAfterOffset
        ) {
          await this.removeOldest();
        }
        return;
      case 'clear':
        return this.removeAll();
      case 'close': {
        const segments = this.segments;
        this.segments = [];
        this.closed = true;
        try {
          await Promise.all(segments.map((s) => s.retire()));
        } finally {
          this.onClosed();
        }
        return;
      }
    }
  }

  private async truncateFiles(offset: bigint): Promise<void> {
    const segments = this.segments;
    const newest = segments[segments.length - 1];
    if (newest === undefined || offset >= newest.lastOffset()) return;
    // Only a trim racing ahead of this truncation can get here with the whole log after `offset`.
    if (offset < segments[0]!.firstOffset) return this.removeAll();
    const seg = segmentHolding(segments, offset);
    if (!seg.indexed) {
      seg.acquire();
      try {
        await seg.loadIndex();
      } finally {
        seg.release();
      }
    }
    const doomed = segments.splice(segments.indexOf(seg) + 1);
    // The cut segment takes appends again: its index stays.
    this.forgetIndexUse(seg);
    seg.truncateIndex(Number(offset - seg.firstOffset) + 1);
    this.layoutEpoch++;
    // Newest first, so that a crash part way leaves a contiguous log.
    await this.removeFiles(doomed.reverse());
    await seg.fh.truncate(seg.sizeBytes);
    if (this.options.syncData) await seg.fh.datasync();
  }

  private async removeAll(): Promise<void> {
    const doomed = this.segments.splice(0);
    this.sealedIndexed.length = 0;
    this.layoutEpoch++;
    await this.removeFiles(doomed.reverse());
  }

  /**
   * Trimming must remove oldest-first durably, one at a time: if a crash could keep an
   * older file while a newer one was gone, the gap would make recovery cut acknowledged entries.
   */
  private async removeOldest(): Promise<void> {
    const seg = this.segments.shift()!;
    this.forgetIndexUse(seg);
    await seg.retire();
    await unlink(seg.path);
    if (this.options.syncData) await fsyncDir(this.dir);
    if (this.resetsQueued === 0) this.terms.trimBefore(this.segments[0]!.firstOffset);
  }

  private async removeFiles(doomed: readonly Segment[]): Promise<void> {
    if (doomed.length === 0) return;
    for (const seg of doomed) this.forgetIndexUse(seg);
    for (const seg of doomed) {
      await seg.retire();
      await unlink(seg.path);
    }
    if (this.options.syncData) await fsyncDir(this.dir);
  }

  /** A sealed segment's index was just used (sealed, read, recovered): it stays; the least recently used beyond the bound is dropped. */
  private useIndex(seg: Segment): void {
    this.forgetIndexUse(seg);
    this.sealedIndexed.push(seg);
    while (this.sealedIndexed.length > SEALED_INDEXES_KEPT) this.sealedIndexed.shift()!.dropIndex();
  }

  private forgetIndexUse(seg: Segment): void {
    const at = this.sealedIndexed.indexOf(seg);
    if (at >= 0) this.sealedIndexed.splice(at, 1);
  }
}

/** The segment whose range holds `offset` (which must lie within the log). */
function segmentHolding(segments: readonly Segment[], offset: bigint): Segment {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (segments[mid]!.firstOffset <= offset) lo = mid;
    else hi = mid - 1;
  }
  const seg = segments[lo]!;
  if (!seg.holds(offset)) throw new Error(`assertion: no segment holds offset ${offset}`);
  return seg;
}
