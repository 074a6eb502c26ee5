// Opening a shard's log: rebuild the in-memory index from the segment files and cut the
// log at the first record that is torn (a crash mid-write) or corrupt. Everything before
// the cut was validated through the CRC chain; nothing after it can be trusted.
import { mkdir, readdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir, openSegmentFile, readFully } from './file-io.js';
import { SEGMENT_HEADER_BYTES, decodeSegmentHeader, parseSegmentFileName } from './record-format.js';
import { Segment } from './segment.js';
import { scanSegmentRecords } from './segment-scan.js';
import { TermIndex } from './term-index.js';

/** What recovery removed, for the caller to log. */
export interface WalRecoveryCut {
  /** The segment file the cut is in. */
  readonly segment: string;
  /** File position of the first byte removed (0: the whole file went). */
  readonly atByte: number;
  /** Bytes removed from that file. */
  readonly bytesDropped: number;
  /** The offset the first dropped record held or would have held. */
  readonly firstLostOffset: bigint;
  readonly reason: string;
  /** Segment files deleted whole: the cut one when nothing valid was left in it, and all later ones. */
  readonly deletedSegments: readonly string[];
}

export interface RecoveredLog {
  readonly segments: Segment[];
  readonly terms: TermIndex;
  readonly cut: WalRecoveryCut | undefined;
}

interface ScanStop {
  readonly atByte: number;
  readonly reason: string;
}

/**
 * Scans `dir` (created when missing) and returns its valid segments, open for
 * reading and appending. `syncData` false skips fsyncs, as everywhere in the adapter.
 * Only the newest `sealedIndexesKept` sealed segments keep their index in memory, so
 * opening a long log never holds all of its indexes at once.
 */
export async function recoverLog(dir: string, syncData: boolean, sealedIndexesKept: number): Promise<RecoveredLog> {
  await makeDirDurably(dir, syncData);
  const names = (await readdir(dir))
    .map((name) => ({ name, first: parseSegmentFileName(name) }))
    .filter((f): f is { name: string; first: bigint } => f.first !== undefined)
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));

  const segments: Segment[] = [];
  const terms = new TermIndex();
  let cut: { segment: Segment | undefined; name: string; atByte: number; fileBytes: number; firstLostOffset: bigint; reason: string } | undefined;
  const doomed: string[] = [];
  let lastTerm = -1n;

  try {
    for (const { name, first } of names) {
      if (cut !== undefined) {
        doomed.push(name);
        continue;
      }
      const expected = segments.length === 0 ? first : segments[segments.length - 1]!.lastOffset() + 1n;
      const path = join(dir, name);
      const { fh, durable } = await openSegmentFile(path, false, syncData);
      const fileBytes = (await fh.stat()).size;
      const wholeFileCut = async (reason: string) => {
        await fh.close();
        doomed.push(name);
        cut = { segment: undefined, name, atByte: 0, fileBytes, firstLostOffset: expected, reason };
      };
      const header = decodeSegmentHeader(await readFully(fh, 0, Math.min(fileBytes, SEGMENT_HEADER_BYTES)));
      if ('invalid' in header) {
        await wholeFileCut(header.invalid);
        continue;
      }
      if (header.firstOffset !== first) {
        await wholeFileCut(`segment header says first offset ${header.firstOffset}, file name says ${first}`);
        continue;
      }
      if (first !== expected) {
        await wholeFileCut(`gap: segment starts at ${first}, the log ends at ${expected - 1n}`);
        continue;
      }
      const segment = new Segment(fh, durable, path, name, first, header.crc, SEGMENT_HEADER_BYTES);
      const stop = await scanRecords(segment, fileBytes, terms, lastTerm);
      if (segment.count === 0) {
        // Only a crash while starting a segment leaves one without records; it holds nothing.
        await wholeFileCut(stop?.reason ?? 'segment holds no records');
        continue;
      }
      lastTerm = terms.termAt(segment.lastOffset());
      segments[segments.length - 1]?.seal();
      segments.push(segment);
      segments[segments.length - 2 - sealedIndexesKept]?.dropIndex();
      if (stop !== undefined) {
        cut = { segment, name, atByte: stop.atByte, fileBytes, firstLostOffset: segment.lastOffset() + 1n, reason: stop.reason };
      }
    }

    if (cut === undefined) return { segments, terms, cut: undefined };

    // Later segments first (newest first, so a crash part way leaves a contiguous log),
    // then the tail of the cut segment: if we crash in between, the next open cuts again.
    for (const name of [...doomed].reverse()) await unlink(join(dir, name));
    if (syncData) await fsyncDir(dir);
    if (cut.segment !== undefined) {
      await cut.segment.fh.truncate(cut.atByte);
      if (syncData) await cut.segment.fh.datasync();
    }
    return {
      segments,
      terms,
      cut: {
        segment: cut.name,
        atByte: cut.atByte,
        bytesDropped: cut.fileBytes - cut.atByte,
        firstLostOffset: cut.firstLostOffset,
        reason: cut.reason,
        deletedSegments: doomed,
      },
    };
  } catch (e) {
    await Promise.all(segments.map((s) => s.retire()));
    throw e;
  }
}

/**
 * Indexes the valid records of `segment` (whose header is checked), reading the file in
 * chunks. Returns where and why it stopped early, or undefined at a clean end of file.
 */
async function scanRecords(segment: Segment, fileBytes: number, terms: TermIndex, lastTermBefore: bigint): Promise<ScanStop | undefined> {
  let lastTerm = lastTermBefore;
  let maxTimestamp = -(2n ** 63n);
  let staged = 0;
  const scan = await scanSegmentRecords(segment.fh, segment.firstOffset, segment.headerCrc, fileBytes, (index, position, crc, term, timestamp) => {
    if (term < lastTerm) return `term ${term} after term ${lastTerm}`;
    lastTerm = term;
    terms.note(segment.firstOffset + BigInt(index), term);
    if (timestamp > maxTimestamp) maxTimestamp = timestamp;
    segment.stage(index, position, crc);
    staged++;
    return undefined;
  });
  segment.commit(staged, scan.end, maxTimestamp);
  return scan.stop === undefined ? undefined : { atByte: scan.end, reason: scan.stop };
}

/** mkdir -p, then fsync each parent of a newly created directory so the path survives a crash. */
async function makeDirDurably(dir: string, syncData: boolean): Promise<void> {
  const firstCreated = await mkdir(dir, { recursive: true });
  if (firstCreated === undefined || !syncData) return;
  let d = dir;
  for (;;) {
    await fsyncDir(dirname(d));
    if (d === firstCreated || dirname(d) === d) break;
    d = dirname(d);
  }
}
