import type { LogEntry } from '../wal/log-entry.js';

/**
 * The CRC chain over a shard's log, as Oxia defines it (ADR 0031): the value of entry n is
 *
 *   crc_n = mask(crc32c_update(crc_{n-1}, LogEntry_n as protobuf))
 *
 * where crc32c_update continues a CRC-32C (Castagnoli) from the previous *masked* value,
 * the entry is the replication.LogEntry message {term, offset, value, timestamp} in the
 * deterministic encoding (fields in number order, zero values left out), and
 * mask(c) = rotate_right(c, 15) + 0xa282ead8 (mod 2^32). The value before offset 0 is 0.
 * Two replicas agree on crc_n exactly when they hold the same entries 0..n (up to CRC
 * collisions), whatever their files look like: the value travels in
 * Append.previous_entry_crc, Oxia's field 4.
 */
export const CHAIN_START_CRC = 0;

const MASK_DELTA = 0xa282ead8;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Slice-by-8 tables: TABLES[k * 256 + b] is the CRC of byte b followed by k zero bytes, so
 * eight input bytes take eight lookups and one step instead of eight dependent steps. The
 * chain runs over every byte of every entry, on every replica: byte-at-a-time it cost about
 * as much as the rest of applying a batch of small puts.
 */
const TABLES = (() => {
  const tables = new Uint32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    tables[i] = c >>> 0;
  }
  for (let i = 0; i < 256; i++) {
    let c = tables[i]!;
    for (let k = 1; k < 8; k++) {
      c = tables[c & 0xff]! ^ (c >>> 8);
      tables[k * 256 + i] = c;
    }
  }
  return tables;
})();

/** CRC-32C of `bytes`, continuing from `crc` (0 to start), as Go's crc32.Update with the Castagnoli table. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  return crc32cOf(bytes, 0, bytes.length, crc);
}

function crc32cOf(bytes: Uint8Array, from: number, to: number, crc: number): number {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = from;
  for (const end = to - 7; i < end; i += 8) {
    const a = c ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
    c =
      t[1792 + (a & 0xff)]! ^
      t[1536 + ((a >>> 8) & 0xff)]! ^
      t[1280 + ((a >>> 16) & 0xff)]! ^
      t[1024 + (a >>> 24)]! ^
      t[768 + bytes[i + 4]!]! ^
      t[512 + bytes[i + 5]!]! ^
      t[256 + bytes[i + 6]!]! ^
      t[bytes[i + 7]!]!;
  }
  for (; i < to; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function mask(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** The message's bytes besides the value: tags, varints, the fixed64 timestamp (at most 33 + 9). */
const scratch = new Uint8Array(48);

function putVarint(at: number, value: bigint): number {
  if (value >= 0n && value <= MAX_SAFE) {
    // Offsets, terms and lengths: plain numbers, no BigInt arithmetic per byte.
    let n = Number(value);
    while (n >= 0x80) {
      scratch[at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    scratch[at++] = n;
    return at;
  }
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    scratch[at++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  scratch[at++] = Number(v);
  return at;
}

/** The chain value of `entry`, given the value of the entry before it. */
export function nextChainCrc(previous: number, entry: LogEntry): number {
  // The message goes through the CRC in three pieces (fields before the value, the value, the
  // timestamp) rather than being encoded into a buffer per entry.
  let n = 0;
  if (entry.term !== 0n) {
    scratch[n++] = 0x08;
    n = putVarint(n, entry.term);
  }
  if (entry.offset !== 0n) {
    scratch[n++] = 0x10;
    n = putVarint(n, entry.offset);
  }
  let c = previous;
  if (entry.value.length > 0) {
    scratch[n++] = 0x1a;
    n = putVarint(n, BigInt(entry.value.length));
    c = crc32cOf(scratch, 0, n, c);
    c = crc32cOf(entry.value, 0, entry.value.length, c);
    n = 0;
  }
  if (entry.timestamp !== 0n) {
    scratch[n++] = 0x21;
    const t = BigInt.asUintN(64, entry.timestamp);
    const lo = Number(t & 0xffffffffn);
    const hi = Number(t >> 32n);
    for (let k = 0; k < 4; k++) scratch[n++] = (lo >>> (8 * k)) & 0xff;
    for (let k = 0; k < 4; k++) scratch[n++] = (hi >>> (8 * k)) & 0xff;
  }
  if (n > 0) c = crc32cOf(scratch, 0, n, c);
  return mask(c);
}
