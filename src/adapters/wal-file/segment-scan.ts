// Walking a segment file's records from its header on, checking each one's place in the CRC
// chain: recovery does it to find where a log is valid, and a sealed segment does it again to
// rebuild the index it dropped from memory.
import type { FileHandle } from 'node:fs/promises';
import { readFully } from './file-io.js';
import { RECORD_HEADER_BYTES, SEGMENT_HEADER_BYTES, checkRecord, recordSizeAt, recordTerm, recordTimestamp } from './record-format.js';

/** Bytes read at a time while scanning; a larger record is read whole. */
const SCAN_CHUNK_BYTES = 1024 * 1024;

export interface SegmentScan {
  /** File position just past the last valid record (the header's end when there is none). */
  readonly end: number;
  /** Why the scan stopped before `fileBytes`; undefined when every byte was a valid record. */
  readonly stop: string | undefined;
}

/**
 * Calls `visit` for each valid record of the segment file in order (its index from 0, file
 * position, chained CRC, term and timestamp) up to `fileBytes`. Stops at the first record that is
 * torn or does not validate, or where `visit` returns a reason to stop.
 */
export async function scanSegmentRecords(
  fh: FileHandle,
  firstOffset: bigint,
  headerCrc: number,
  fileBytes: number,
  visit: (index: number, position: number, crc: number, term: bigint, timestamp: bigint) => string | undefined,
): Promise<SegmentScan> {
  let buf: Buffer = Buffer.alloc(0);
  let bufStart = SEGMENT_HEADER_BYTES; // file position of buf[0]
  let pos = SEGMENT_HEADER_BYTES;
  let prevCrc = headerCrc;
  let index = 0;
  // Makes buf cover [from, from + length); length never goes past the end of the file.
  const cover = async (from: number, length: number) => {
    if (from >= bufStart && from + length <= bufStart + buf.length) return;
    buf = await readFully(fh, from, Math.min(Math.max(length, SCAN_CHUNK_BYTES), fileBytes - from));
    bufStart = from;
  };
  while (pos < fileBytes) {
    const remaining = fileBytes - pos;
    if (remaining < RECORD_HEADER_BYTES) return { end: pos, stop: `torn record header (${remaining} bytes)` };
    await cover(pos, RECORD_HEADER_BYTES);
    const size = recordSizeAt(buf, pos - bufStart);
    if (size > remaining) return { end: pos, stop: `torn record (${remaining} of ${size} bytes)` };
    await cover(pos, size);
    const check = checkRecord(buf.subarray(0, pos - bufStart + size), pos - bufStart, prevCrc, firstOffset + BigInt(index));
    if (!check.ok) return { end: pos, stop: check.reason };
    const refused = visit(index, pos, check.crc, recordTerm(buf, pos - bufStart), recordTimestamp(buf, pos - bufStart));
    if (refused !== undefined) return { end: pos, stop: refused };
    prevCrc = check.crc;
    index++;
    pos += size;
  }
  return { end: pos, stop: undefined };
}
