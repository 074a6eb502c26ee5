import type { GetResponse, Status } from '../../../domain/wire/client.js';
import { OxiaError } from '../errors.js';
import { Version, type GetResult } from '../types.js';
import { toBytes, toVersion } from './convert.js';
import { RpcError } from './rpc-error.js';

/**
 * One get's answer as the client uses it: a GetResponse whose version is already the public
 * Version (numbers, Dates) and whose value is a plain Uint8Array view of the received bytes.
 */
export interface GetAnswer {
  readonly status: Status;
  readonly version: Version | undefined;
  readonly value: Uint8Array | undefined;
  readonly key: string | undefined;
  readonly secondaryIndexKey: string | undefined;
}

export function toGetResult(a: GetAnswer, requestedKey: string, what: string): GetResult {
  if (a.version === undefined) throw new OxiaError(`${what}: the server's response carries no version`, { kind: 'Internal' });
  return { key: a.key ?? requestedKey, value: a.value, version: a.version };
}

/** A wire GetResponse (from a range scan) as an answer. */
export function answerOf(r: GetResponse): GetAnswer {
  return {
    status: r.status,
    version: r.version === undefined ? undefined : toVersion(r.version, 'get'),
    value: toBytes(r.value),
    key: r.key,
    secondaryIndexKey: r.secondaryIndexKey,
  };
}

/**
 * Decodes one ReadResponse message (`repeated GetResponse gets = 1`) straight into answers.
 * The generated codec decodes every int64 of a Version into a BigInt (several allocations
 * each) and copies each value into a new Buffer; the client wants numbers and a view, and a
 * Read is the hot path of every get, so its responses are decoded here instead. Same wire
 * format: unknown fields are skipped, absent ones take proto3 defaults.
 */
export function decodeReadResponse(bytes: Uint8Array): GetAnswer[] {
  const r = new WireReader(bytes);
  const gets: GetAnswer[] = [];
  while (r.more(bytes.length)) {
    const tag = r.varint32();
    if (tag === 10) gets.push(decodeGetResponse(r, r.length()));
    else r.skip(tag);
  }
  return gets;
}

function decodeGetResponse(r: WireReader, end: number): GetAnswer {
  let status = 0;
  let version: Version | undefined;
  let value: Uint8Array | undefined;
  let key: string | undefined;
  let secondaryIndexKey: string | undefined;
  while (r.more(end)) {
    const tag = r.varint32();
    switch (tag) {
      case 8:
        status = r.varint32() | 0;
        break;
      case 18:
        version = decodeVersion(r, r.length());
        break;
      case 26:
        value = r.bytes(r.length());
        break;
      case 34:
        key = r.string(r.length());
        break;
      case 42:
        secondaryIndexKey = r.string(r.length());
        break;
      default:
        r.skip(tag);
    }
  }
  return { status: status as Status, version, value, key, secondaryIndexKey };
}

function decodeVersion(r: WireReader, end: number): Version {
  let versionId = 0;
  let modificationsCount = 0;
  let created = 0;
  let modified = 0;
  let sessionId: number | undefined;
  let clientIdentity: string | undefined;
  while (r.more(end)) {
    const tag = r.varint32();
    switch (tag) {
      case 8:
        versionId = r.int64();
        break;
      case 16:
        modificationsCount = r.int64();
        break;
      case 25:
        created = r.fixed64();
        break;
      case 33:
        modified = r.fixed64();
        break;
      case 40:
        sessionId = r.int64();
        break;
      case 50:
        clientIdentity = r.string(r.length());
        break;
      default:
        r.skip(tag);
    }
  }
  return new Version({
    versionId,
    modificationsCount,
    createdTimestamp: new Date(created),
    modifiedTimestamp: new Date(modified),
    sessionId,
    clientIdentity,
  });
}

const TWO_32 = 2 ** 32;

const malformed = (): RpcError => new RpcError('Internal', 'malformed ReadResponse from the server');

/** Protobuf primitives over one message; int64s become numbers (version ids and times stay below 2^53). */
class WireReader {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  more(end: number): boolean {
    if (this.pos > end) throw malformed();
    return this.pos < end;
  }

  varint32(): number {
    return this.int64() >>> 0;
  }

  /**
   * A varint as a number, read in two 32-bit halves (a float sum would round a ten-byte
   * negative int64 away); a negative int64 comes out negative.
   */
  int64(): number {
    const buf = this.buf;
    let lo = 0;
    let hi = 0;
    let b: number | undefined;
    for (let shift = 0; shift < 28; shift += 7) {
      b = buf[this.pos++];
      if (b === undefined) throw malformed();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return lo;
    }
    b = buf[this.pos++];
    if (b === undefined) throw malformed();
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x7f) >> 4;
    if (b < 0x80) return hi * TWO_32 + (lo >>> 0);
    for (let shift = 3; shift < 32; shift += 7) {
      b = buf[this.pos++];
      if (b === undefined) throw malformed();
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) return (hi | 0) * TWO_32 + (lo >>> 0);
    }
    throw malformed();
  }

  fixed64(): number {
    if (this.pos + 8 > this.buf.length) throw malformed();
    const lo = this.buf.readUInt32LE(this.pos);
    const hi = this.buf.readInt32LE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }

  /** Reads a length prefix; returns where the field ends. */
  length(): number {
    const length = this.varint32();
    const end = this.pos + length;
    if (end > this.buf.length) throw malformed();
    return end;
  }

  /** A plain Uint8Array view (not a Buffer, as the official client returns), no copy. */
  bytes(end: number): Uint8Array {
    const view = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, end - this.pos);
    this.pos = end;
    return view;
  }

  string(end: number): string {
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  skip(tag: number): void {
    switch (tag & 7) {
      case 0:
        this.int64();
        return;
      case 1:
        this.pos += 8;
        return;
      case 2:
        this.pos = this.length();
        return;
      case 5:
        this.pos += 4;
        return;
      default:
        throw malformed();
    }
  }
}
