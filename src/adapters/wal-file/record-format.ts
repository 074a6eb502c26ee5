// The byte layout of WAL segment files. ADR/0003-wal-format.md is the specification;
// keep the two in step. All integers are big-endian.
import { crc32 } from 'node:zlib';
import type { LogEntry } from '../../domain/wal/log-entry.js';

// Segment header (24 bytes):
//   0  u32  magic 'OXWL'
//   4  u16  format version (1)
//   6  u16  reserved, zero
//   8  i64  offset of the segment's first record (also the file name)
//   16 u32  salt: random per file, so two files with the same first offset chain differently
//   20 u32  CRC-32 of bytes 0..19; it seeds the CRC chain of the segment's records
export const SEGMENT_MAGIC = 0x4f58574c;
export const SEGMENT_FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 24;

// Record (32 bytes + value):
//   0  u32  CRC-32 of bytes 4..end of this record, seeded with the previous record's CRC
//           (the header's CRC for a segment's first record)
//   4  u32  payload length: 24 + value length
//   8  i64  term
//   16 i64  offset
//   24 i64  timestamp (ms)
//   32 ...  value
export const RECORD_HEADER_BYTES = 8;
export const RECORD_FIXED_PAYLOAD_BYTES = 24;
export const RECORD_OVERHEAD_BYTES = RECORD_HEADER_BYTES + RECORD_FIXED_PAYLOAD_BYTES;

export const SEGMENT_FILE_SUFFIX = '.wal';
const SEGMENT_FILE_NAME = /^(\d{20})\.wal$/;

/** Zero-padded so that lexical order is offset order. */
export function segmentFileName(firstOffset: bigint): string {
  return firstOffset.toString().padStart(20, '0') + SEGMENT_FILE_SUFFIX;
}

/** The first offset a segment file name stands for, or undefined for other files. */
export function parseSegmentFileName(name: string): bigint | undefined {
  const m = SEGMENT_FILE_NAME.exec(name);
  return m?.[1] === undefined ? undefined : BigInt(m[1]);
}

export function encodeSegmentHeader(firstOffset: bigint, salt: number): { bytes: Buffer; crc: number } {
  const bytes = Buffer.alloc(SEGMENT_HEADER_BYTES);
  bytes.writeUInt32BE(SEGMENT_MAGIC, 0);
  bytes.writeUInt16BE(SEGMENT_FORMAT_VERSION, 4);
  bytes.writeBigInt64BE(firstOffset, 8);
  bytes.writeUInt32BE(salt >>> 0, 16);
  const crc = crc32(bytes.subarray(0, 20));
  bytes.writeUInt32BE(crc, 20);
  return { bytes, crc };
}

/** The header's first offset and CRC, or a reason why it is not a valid header. */
export function decodeSegmentHeader(bytes: Buffer): { firstOffset: bigint; crc: number } | { invalid: string } {
  if (bytes.length < SEGMENT_HEADER_BYTES) return { invalid: `short segment header (${bytes.length} bytes)` };
  if (bytes.readUInt32BE(0) !== SEGMENT_MAGIC) return { invalid: 'bad segment magic' };
  const crc = bytes.readUInt32BE(20);
  if (crc32(bytes.subarray(0, 20)) !== crc) return { invalid: 'segment header CRC mismatch' };
  const version = bytes.readUInt16BE(4);
  if (version !== SEGMENT_FORMAT_VERSION) return { invalid: `unknown segment format version ${version}` };
  return { firstOffset: bytes.readBigInt64BE(8), crc };
}

export function recordBytes(entry: LogEntry): number {
  return RECORD_OVERHEAD_BYTES + entry.value.length;
}

/**
 * Lays out records for `entries` back to back in one buffer, CRC fields left zero:
 * the CRC chain depends on where the records land, which only the writer knows.
 */
export function encodeRecords(entries: readonly LogEntry[], totalBytes: number): Buffer {
  const buf = Buffer.allocUnsafe(totalBytes);
  let pos = 0;
  for (const e of entries) {
    buf.writeUInt32BE(0, pos);
    buf.writeUInt32BE(RECORD_FIXED_PAYLOAD_BYTES + e.value.length, pos + 4);
    buf.writeBigInt64BE(e.term, pos + 8);
    buf.writeBigInt64BE(e.offset, pos + 16);
    buf.writeBigInt64BE(e.timestamp, pos + 24);
    buf.set(e.value, pos + RECORD_OVERHEAD_BYTES);
    pos += RECORD_OVERHEAD_BYTES + e.value.length;
  }
  if (pos !== totalBytes) throw new Error(`assertion: encoded ${pos} bytes, expected ${totalBytes}`);
  return buf;
}

/**
 * Fills the CRC field of each record in `buf` (as laid out by encodeRecords), chaining
 * from `prevCrc`. Calls `onRecord` with each record's start and CRC; returns the last CRC.
 */
export function sealRecords(buf: Buffer, prevCrc: number, onRecord: (start: number, crc: number) => void): number {
  let pos = 0;
  let crc = prevCrc;
  while (pos < buf.length) {
    const end = pos + RECORD_HEADER_BYTES + buf.readUInt32BE(pos + 4);
    crc = crc32(buf.subarray(pos + 4, end), crc);
    buf.writeUInt32BE(crc, pos);
    onRecord(pos, crc);
    pos = end;
  }
  return crc;
}

export type RecordCheck =
  | { readonly ok: true; readonly size: number; readonly crc: number }
  | { readonly ok: false; readonly torn: boolean; readonly reason: string };

/**
 * Validates the record starting at `pos` of `buf` against the chain (`prevCrc`) and
 * the offset it must hold. `torn` means the buffer ends inside the record.
 */
export function checkRecord(buf: Buffer, pos: number, prevCrc: number, expectedOffset: bigint): RecordCheck {
  const available = buf.length - pos;
  if (available < RECORD_HEADER_BYTES) return { ok: false, torn: true, reason: `torn record header (${available} bytes)` };
  const payloadBytes = buf.readUInt32BE(pos + 4);
  if (payloadBytes < RECORD_FIXED_PAYLOAD_BYTES) return { ok: false, torn: false, reason: `bad payload length ${payloadBytes}` };
  const size = RECORD_HEADER_BYTES + payloadBytes;
  if (available < size) return { ok: false, torn: true, reason: `torn record (${available} of ${size} bytes)` };
  const crc = crc32(buf.subarray(pos + 4, pos + size), prevCrc);
  if (crc !== buf.readUInt32BE(pos)) return { ok: false, torn: false, reason: 'record CRC mismatch' };
  const offset = buf.readBigInt64BE(pos + 16);
  if (offset !== expectedOffset) return { ok: false, torn: false, reason: `record holds offset ${offset}, expected ${expectedOffset}` };
  return { ok: true, size, crc };
}

/** The payload length field of the record at `pos`, for sizing a read before checking. */
export function recordSizeAt(buf: Buffer, pos: number): number {
  return RECORD_HEADER_BYTES + buf.readUInt32BE(pos + 4);
}

export function recordTerm(buf: Buffer, pos: number): bigint {
  return buf.readBigInt64BE(pos + 8);
}

export function recordTimestamp(buf: Buffer, pos: number): bigint {
  return buf.readBigInt64BE(pos + 24);
}

/** Decodes a checked record; the value is copied so it does not pin the read buffer. */
export function decodeRecord(buf: Buffer, pos: number, size: number): LogEntry {
  const value = new Uint8Array(size - RECORD_OVERHEAD_BYTES);
  value.set(buf.subarray(pos + RECORD_OVERHEAD_BYTES, pos + size));
  return {
    term: buf.readBigInt64BE(pos + 8),
    offset: buf.readBigInt64BE(pos + 16),
    timestamp: buf.readBigInt64BE(pos + 24),
    value,
  };
}
