import { BinaryWriter } from '@bufbuild/protobuf/wire';

/** Results above this are rare (large values); the writer is then replaced so that it does not keep a large buffer. */
const KEPT_BUFFER_BYTES_MAX = 1024 * 1024;

/** Generated message functions (ts-proto's MessageFns), of which only encode is needed. */
export interface MessageEncoder<T> {
  encode(message: T, writer?: BinaryWriter): BinaryWriter;
}

let shared = new BinaryWriter();

/**
 * Encodes a protobuf message with one writer reused across calls. A fresh BinaryWriter
 * starts from an empty buffer and grows it by doubling for every message, which costs
 * about as much as the encoding itself on the write path (every record, log entry and
 * response). Encoding is synchronous, so one writer serves every caller; finish()
 * returns a copy and rewinds it. Returns bytes owned by the caller.
 */
export function encodeMessage<T>(fns: MessageEncoder<T>, message: T): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fns.encode(message, shared).finish();
  } catch (e) {
    // A half-written message (e.g. an out-of-range int64) must not prefix the next one.
    shared = new BinaryWriter();
    throw e;
  }
  if (bytes.length > KEPT_BUFFER_BYTES_MAX) shared = new BinaryWriter();
  return bytes;
}
