import { encodeMessage } from '../database/message-encoding.js';
import { BackupRecord } from '../wire/backup.js';

/**
 * How a backup stores one shard's records (ADR 0030): BackupRecord messages, each preceded
 * by its length as a 4-byte big-endian number, in the order the shard sent them. The file's
 * SHA-256 and record count are in the manifest; the framing only has to tell a cut or
 * garbled file from a whole one.
 */
const LENGTH_BYTES = 4;
/** Far above any record the servers accept (8 MiB values): garbage cannot make us allocate without end. */
const RECORD_BYTES_MAX = 64 * 1024 * 1024;

export class RecordFileError extends Error {
  override readonly name = 'RecordFileError';
}

/** One record with its length in front, ready to append to the file. */
export function frameRecord(record: BackupRecord): Uint8Array {
  const body = encodeMessage(BackupRecord, record);
  const framed = new Uint8Array(LENGTH_BYTES + body.length);
  new DataView(framed.buffer).setUint32(0, body.length, false);
  framed.set(body, LENGTH_BYTES);
  return framed;
}

/** Every record of a whole file, in order; RecordFileError when the bytes are not whole records. */
export function* readRecordFile(bytes: Uint8Array): Generator<BackupRecord> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  let index = 0;
  while (pos < bytes.length) {
    if (bytes.length - pos < LENGTH_BYTES) throw new RecordFileError(`record ${index} is cut short: ${bytes.length - pos} bytes where its length should be`);
    const length = view.getUint32(pos, false);
    if (length > RECORD_BYTES_MAX) throw new RecordFileError(`record ${index} claims ${length} bytes, above the ${RECORD_BYTES_MAX} a record may have`);
    const start = pos + LENGTH_BYTES;
    if (bytes.length - start < length) throw new RecordFileError(`record ${index} is cut short: ${bytes.length - start} of its ${length} bytes`);
    let record: BackupRecord;
    try {
      record = BackupRecord.decode(bytes.subarray(start, start + length));
    } catch (e) {
      throw new RecordFileError(`record ${index} does not decode: ${e instanceof Error ? e.message : String(e)}`);
    }
    yield record;
    pos = start + length;
    index++;
  }
}
