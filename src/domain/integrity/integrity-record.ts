import { INTEGRITY_KEY } from '../keys/internal-keys.js';
import type { KvOp, KvReadView } from '../database/kv-view.js';
import { INTERNAL_ENCODER, internalRecordOp, readRecord } from '../database/records.js';

/**
 * What a replica's store says about its own integrity (ADR 0031), written in the same atomic
 * store write as the entries it describes: the offset of the last entry applied whole, that
 * entry's CRC chain value (undefined when unknown: a store written before the chain existed,
 * or a split's child, whose log starts from a filtered copy), and the digest of the store's
 * records as they are after that write.
 */
export interface IntegrityRecord {
  readonly offset: bigint;
  readonly crc: number | undefined;
  readonly digest: bigint;
}

const FORMAT_VERSION = 1;
const BYTES = 22;

export function encodeIntegrity(record: IntegrityRecord): Uint8Array {
  const buf = new Uint8Array(BYTES);
  const view = new DataView(buf.buffer);
  view.setUint8(0, FORMAT_VERSION);
  view.setUint8(1, record.crc === undefined ? 0 : 1);
  view.setBigInt64(2, record.offset);
  view.setUint32(10, record.crc ?? 0);
  view.setBigUint64(14, record.digest);
  return buf;
}

export function decodeIntegrity(bytes: Uint8Array): IntegrityRecord {
  if (bytes.length !== BYTES || bytes[0] !== FORMAT_VERSION) throw new Error(`corrupt integrity record (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    offset: view.getBigInt64(2),
    crc: view.getUint8(1) === 1 ? view.getUint32(10) : undefined,
    digest: view.getBigUint64(14),
  };
}

export function integrityOp(record: IntegrityRecord, timestampMs: bigint): KvOp {
  return internalRecordOp(INTEGRITY_KEY, encodeIntegrity(record), timestampMs);
}

export const INTEGRITY_KEY_ENCODED: Uint8Array = INTERNAL_ENCODER.encode(INTEGRITY_KEY);

/** The store's integrity record, or undefined when it has none. */
export async function readIntegrity(view: KvReadView): Promise<IntegrityRecord | undefined> {
  const entry = await readRecord(view, INTEGRITY_KEY_ENCODED);
  return entry ? decodeIntegrity(entry.value) : undefined;
}
