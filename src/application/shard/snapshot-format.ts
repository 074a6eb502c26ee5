import type { KvEntry } from '../../domain/database/kv-view.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';

/**
 * How a shard's store travels in SendSnapshot chunks (ADR/0009). The store's entries,
 * in key order, are serialised as one byte stream of records
 *
 *   [key length: u32 big-endian][key][value length: u32 big-endian][value]
 *
 * cut into chunks of at most SNAPSHOT_CHUNK_BYTES_MAX bytes at arbitrary points (so a
 * value larger than a chunk simply spans several). A receiving gRPC stream buffers up to 16
 * messages whatever their size: 256 KiB chunks keep that at 4 MiB per transfer. Chunks are numbered from 0; every
 * chunk but the last says chunk_count 0 ("more follow"), the last says the total, so
 * the receiver can tell a complete snapshot from one cut short.
 */
export const SNAPSHOT_CHUNK_BYTES_MAX = 256 * 1024;
/** The chunk name: says which format the content is in. */
export const SNAPSHOT_FORMAT_NAME = 'oxia-ts/kv-records/v1';
/** A sanity bound on one record, far above the request limits, so garbage cannot make us allocate without end. */
const RECORD_BYTES_MAX = 512 * 1024 * 1024;
const LENGTH_BYTES = 4;

export class SnapshotEncoder {
  private chunk: Uint8Array;
  private used = 0;

  constructor(private readonly chunkBytesMax = SNAPSHOT_CHUNK_BYTES_MAX) {
    this.chunk = new Uint8Array(chunkBytesMax);
  }

  /** Adds one entry; returns the chunks it filled (each exactly chunkBytesMax long). */
  add(key: Uint8Array, value: Uint8Array): Uint8Array[] {
    const full: Uint8Array[] = [];
    this.writeLength(key.length, full);
    this.writeBytes(key, full);
    this.writeLength(value.length, full);
    this.writeBytes(value, full);
    return full;
  }

  /** The last, partly filled chunk (possibly empty). */
  finish(): Uint8Array {
    const last = this.chunk.subarray(0, this.used);
    this.chunk = new Uint8Array(0);
    this.used = 0;
    return last;
  }

  private writeLength(length: number, full: Uint8Array[]): void {
    const bytes = new Uint8Array(LENGTH_BYTES);
    new DataView(bytes.buffer).setUint32(0, length, false);
    this.writeBytes(bytes, full);
  }

  private writeBytes(bytes: Uint8Array, full: Uint8Array[]): void {
    let from = 0;
    while (from < bytes.length) {
      const n = Math.min(bytes.length - from, this.chunkBytesMax - this.used);
      this.chunk.set(bytes.subarray(from, from + n), this.used);
      this.used += n;
      from += n;
      if (this.used === this.chunkBytesMax) {
        full.push(this.chunk);
        this.chunk = new Uint8Array(this.chunkBytesMax);
        this.used = 0;
      }
    }
  }
}

/** Reassembles entries from chunk contents pushed in order. */
export class SnapshotDecoder {
  private rest: Uint8Array = new Uint8Array(0);
  private nextIndex = 0;
  private complete = false;

  /**
   * Takes the next chunk; returns the entries it completed. Throws InvalidArgument on a
   * chunk out of order, of an unknown format, after the last one, or with a corrupt record.
   */
  push(chunk: { readonly name: string; readonly content: Uint8Array; readonly chunkIndex: number; readonly chunkCount: number }): KvEntry[] {
    if (chunk.name !== SNAPSHOT_FORMAT_NAME) throw new OxiaError('InvalidArgument', `unknown snapshot format "${chunk.name}"`);
    if (this.complete) throw new OxiaError('InvalidArgument', 'snapshot chunk after the last one');
    if (chunk.chunkIndex !== this.nextIndex) {
      throw new OxiaError('InvalidArgument', `snapshot chunk ${chunk.chunkIndex} arrived where chunk ${this.nextIndex} was expected`);
    }
    this.nextIndex++;
    if (chunk.chunkCount !== 0) {
      if (chunk.chunkCount !== this.nextIndex) {
        throw new OxiaError('InvalidArgument', `snapshot says it has ${chunk.chunkCount} chunks, its last one is number ${this.nextIndex}`);
      }
      this.complete = true;
    }
    const data = concat(this.rest, chunk.content);
    const entries: KvEntry[] = [];
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let pos = 0;
    for (;;) {
      if (data.length - pos < LENGTH_BYTES) break;
      const keyLength = view.getUint32(pos, false);
      if (data.length - pos < LENGTH_BYTES + keyLength + LENGTH_BYTES) {
        this.checkRecordBound(keyLength);
        break;
      }
      const valueLength = view.getUint32(pos + LENGTH_BYTES + keyLength, false);
      const recordBytes = LENGTH_BYTES + keyLength + LENGTH_BYTES + valueLength;
      this.checkRecordBound(recordBytes);
      if (data.length - pos < recordBytes) break;
      const keyStart = pos + LENGTH_BYTES;
      const valueStart = keyStart + keyLength + LENGTH_BYTES;
      entries.push({ key: data.slice(keyStart, keyStart + keyLength), value: data.slice(valueStart, valueStart + valueLength) });
      pos += recordBytes;
    }
    this.rest = data.slice(pos);
    if (this.complete && this.rest.length > 0) {
      throw new OxiaError('InvalidArgument', `snapshot ends inside a record (${this.rest.length} bytes left over)`);
    }
    return entries;
  }

  /** Whether the last chunk arrived. */
  get isComplete(): boolean {
    return this.complete;
  }

  get chunksReceived(): number {
    return this.nextIndex;
  }

  private checkRecordBound(bytes: number): void {
    if (bytes > RECORD_BYTES_MAX) throw new OxiaError('InvalidArgument', `snapshot record of ${bytes} bytes exceeds ${RECORD_BYTES_MAX}`);
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
