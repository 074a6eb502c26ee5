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

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

/** CRC-32C of `bytes`, continuing from `crc` (0 to start), as Go's crc32.Update with the Castagnoli table. */
export function crc32c(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function mask(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + MASK_DELTA) >>> 0;
}

/** The chain value of `entry`, given the value of the entry before it. */
export function nextChainCrc(previous: number, entry: LogEntry): number {
  // The protobuf bytes go through the CRC as they are produced: no buffer per entry.
  let c = ~previous >>> 0;
  const byte = (b: number): void => {
    c = TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  };
  const varint = (value: bigint): void => {
    let v = BigInt.asUintN(64, value);
    while (v >= 0x80n) {
      byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    byte(Number(v));
  };
  if (entry.term !== 0n) {
    byte(0x08);
    varint(entry.term);
  }
  if (entry.offset !== 0n) {
    byte(0x10);
    varint(entry.offset);
  }
  if (entry.value.length > 0) {
    byte(0x1a);
    varint(BigInt(entry.value.length));
    const value = entry.value;
    for (let i = 0; i < value.length; i++) c = TABLE[(c ^ value[i]!) & 0xff]! ^ (c >>> 8);
  }
  if (entry.timestamp !== 0n) {
    byte(0x21);
    let t = BigInt.asUintN(64, entry.timestamp);
    for (let i = 0; i < 8; i++) {
      byte(Number(t & 0xffn));
      t >>= 8n;
    }
  }
  return mask(~c >>> 0);
}
