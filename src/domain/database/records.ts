import { BinaryReader } from '@bufbuild/protobuf/wire';
import { fromUtf8, utf8 } from '../keys/bytes.js';
import type { KeyEncoder } from '../keys/key-encoder.js';
import { keyEncoder } from '../keys/key-encoder.js';
import { SecondaryIndex, type Version } from '../wire/client.js';
import { StorageEntry } from '../wire/storage.js';
import { pointRead, type KvOp, type KvReadView } from './kv-view.js';
import { encodeMessage } from './message-encoding.js';

/**
 * How records and internal scalars are stored. Every record is a StorageEntry
 * protobuf; internal scalars (commit offset, last version id, term) are StorageEntry
 * values holding the number in ASCII with version id -1, as Oxia stores them.
 */

/** Internal keys encode the same in both sortings; any encoder will do for them. */
export const INTERNAL_ENCODER: KeyEncoder = keyEncoder('natural');

export async function readRecord(view: KvReadView, encoded: Uint8Array): Promise<StorageEntry | undefined> {
  const read = pointRead(view, encoded);
  const bytes = read instanceof Promise ? await read : read;
  return bytes === undefined ? undefined : StorageEntry.decode(bytes);
}

/** What writing over or removing a record needs of it: everything but its value and the strings beside it. */
export type RecordHeader = Pick<StorageEntry, 'versionId' | 'modificationsCount' | 'creationTimestamp' | 'sessionId' | 'secondaryIndexes'>;

/**
 * The header of the record under `encoded`, decoded without its value (which StorageEntry.decode
 * copies), client identity and partition key: every put reads the record it replaces, on
 * every replica, and needs only this of it.
 */
export async function readRecordHeader(view: KvReadView, encoded: Uint8Array): Promise<RecordHeader | undefined> {
  const read = pointRead(view, encoded);
  const bytes = read instanceof Promise ? await read : read;
  return bytes === undefined ? undefined : decodeRecordHeader(bytes);
}

/**
 * Reads a stored record (a StorageEntry) field by field as StorageEntry.decode does, for the
 * decoders that need only some fields: `read` consumes the fields it wants and returns true;
 * the others, unknown ones included, are skipped; an end-group tag or tag 0 ends the record.
 */
export function readRecordFields(bytes: Uint8Array, read: (tag: number, reader: BinaryReader) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const tag = reader.uint32();
    if (read(tag, reader)) continue;
    if ((tag & 7) === 4 || tag === 0) break;
    reader.skip(tag & 7);
  }
}

/** The fields of RecordHeader as StorageEntry.decode reads them (a later occurrence of a field wins; unknown fields skipped). */
export function decodeRecordHeader(bytes: Uint8Array): RecordHeader {
  const header: RecordHeader = { versionId: 0n, modificationsCount: 0n, creationTimestamp: 0n, sessionId: undefined, secondaryIndexes: [] };
  readRecordFields(bytes, (tag, reader) => {
    switch (tag) {
      case 16: // 2: version_id
        header.versionId = reader.int64() as bigint;
        return true;
      case 24: // 3: modifications_count
        header.modificationsCount = reader.int64() as bigint;
        return true;
      case 33: // 4: creation_timestamp
        header.creationTimestamp = reader.fixed64() as bigint;
        return true;
      case 48: // 6: session_id
        header.sessionId = reader.int64() as bigint;
        return true;
      case 74: // 9: secondary_indexes
        header.secondaryIndexes.push(SecondaryIndex.decode(reader, reader.uint32()));
        return true;
    }
    return false;
  });
  return header;
}

export function encodeRecord(entry: StorageEntry): Uint8Array {
  return encodeMessage(StorageEntry, entry);
}

export function versionOf(entry: StorageEntry): Version {
  const version: Version = {
    versionId: entry.versionId,
    modificationsCount: entry.modificationsCount,
    createdTimestamp: entry.creationTimestamp,
    modifiedTimestamp: entry.modificationTimestamp,
  };
  if (entry.sessionId !== undefined) version.sessionId = entry.sessionId;
  if (entry.clientIdentity !== undefined) version.clientIdentity = entry.clientIdentity;
  return version;
}

const ASCII_INTEGER = /^\s*([+-]?\d+)/;

/** A scalar stored under an internal key, or `fallback` when absent. */
export async function readAsciiLong(view: KvReadView, key: string, fallback: bigint): Promise<bigint> {
  const entry = await readRecord(view, INTERNAL_ENCODER.encode(key));
  if (!entry) return fallback;
  const m = ASCII_INTEGER.exec(fromUtf8(entry.value));
  if (!m) throw new Error(`corrupt internal record ${key}: ${JSON.stringify(fromUtf8(entry.value))}`);
  return BigInt(m[1]!);
}

export function internalRecordOp(key: string, value: Uint8Array, timestampMs: bigint): KvOp {
  const entry: StorageEntry = {
    value: Buffer.from(value),
    versionId: -1n,
    modificationsCount: 0n,
    creationTimestamp: timestampMs,
    modificationTimestamp: timestampMs,
    secondaryIndexes: [],
  };
  return { type: 'put', key: INTERNAL_ENCODER.encode(key), value: encodeRecord(entry) };
}

export function asciiLongOp(key: string, value: bigint, timestampMs: bigint): KvOp {
  return internalRecordOp(key, utf8(value.toString()), timestampMs);
}
