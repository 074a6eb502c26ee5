import type { KeySorting } from '../sharding/namespace.js';
import { compareBytes, compareUtf8, fromUtf8, prefixSuccessor, utf8 } from './bytes.js';
import { INDEX_PREFIX, isInternalKey } from './internal-keys.js';

/**
 * Maps keys to the bytes a store orders with memcmp, so that byte order is the
 * namespace's key order (ADR 0006).
 *
 * User keys:
 *  - hierarchical (Oxia's default): a 2-byte big-endian count of '/' (a trailing "//"
 *    counts once, capped at 0x7fff), then the UTF-8 key with every '/' as 0xff. Keys
 *    order by depth first, then bytewise with '/' above every other character, so the
 *    range ["/a/", "/a//") holds exactly the direct children of "/a".
 *  - natural: the UTF-8 bytes.
 * Internal keys ("__oxia/..."), whatever the sorting: 0xff, then the hierarchical form.
 * No user key starts with 0xff (UTF-8 never contains it, and the hierarchical count
 * stays below 0x8000), so internal keys sort after every user key, and their layout
 * does not depend on the namespace. One exception keeps secondary indexes in the
 * namespace's order: in "__oxia/idx/<index>/<rest>", <rest> (secondary key,
 * separator, escaped primary key) is encoded with the namespace's user-key encoding.
 */
export interface KeyEncoder {
  readonly sorting: KeySorting;
  encode(key: string): Uint8Array;
  decode(encoded: Uint8Array): string;
  /** The namespace's key order: the byte order of the encoded keys. */
  compare(a: string, b: string): number;
}

const SLASH = 0x2f;
const ENCODED_SLASH = 0xff;
const DEPTH_MAX = 0x7fff;
export const INTERNAL_MARKER = 0xff;

/** Every encoded user key is below this, every encoded internal key at or above it. */
export const INTERNAL_REGION_START: Uint8Array = Uint8Array.of(INTERNAL_MARKER);

export function isInternalEncoded(encoded: Uint8Array): boolean {
  return encoded[0] === INTERNAL_MARKER;
}

/** The hierarchical form, after `lead` zero bytes the caller fills in. */
function hierarchicalEncode(key: string, lead: number): Uint8Array {
  const body = utf8(key);
  const out = new Uint8Array(lead + 2 + body.length);
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === SLASH) {
      depth++;
      out[lead + 2 + i] = ENCODED_SLASH;
    } else {
      out[lead + 2 + i] = b;
    }
  }
  const n = body.length;
  // A trailing "//" opens no new level: it is how a range's end names "everything
  // under this path at this depth" ("/a/" .. "/a//").
  if (n >= 2 && body[n - 1] === SLASH && body[n - 2] === SLASH) depth--;
  if (depth > DEPTH_MAX) depth = DEPTH_MAX;
  out[lead] = depth >> 8;
  out[lead + 1] = depth & 0xff;
  return out;
}

function hierarchicalDecode(encoded: Uint8Array): string {
  if (encoded.length <= 2) return '';
  const body = encoded.slice(2);
  for (let i = 0; i < body.length; i++) if (body[i] === ENCODED_SLASH) body[i] = SLASH;
  return fromUtf8(body);
}

/** Bytes of "__oxia/idx/" in hierarchical form (after the 2-byte depth). */
const INDEX_BODY_BYTES = utf8(INDEX_PREFIX).map((b) => (b === SLASH ? ENCODED_SLASH : b));

/** The position right after "__oxia/idx/<index>/", or -1 when the key is not an index entry. */
function indexRestOffset(key: string): number {
  if (!key.startsWith(INDEX_PREFIX)) return -1;
  const slash = key.indexOf('/', INDEX_PREFIX.length);
  return slash < 0 ? -1 : slash + 1;
}

abstract class BaseEncoder implements KeyEncoder {
  abstract readonly sorting: KeySorting;
  protected abstract encodeUser(key: string): Uint8Array;
  protected abstract decodeUser(encoded: Uint8Array): string;

  encode(key: string): Uint8Array {
    if (!isInternalKey(key)) return this.encodeUser(key);
    const restAt = indexRestOffset(key);
    if (restAt < 0) {
      const out = hierarchicalEncode(key, 1);
      out[0] = INTERNAL_MARKER;
      return out;
    }
    const head = hierarchicalEncode(key.slice(0, restAt), 1);
    head[0] = INTERNAL_MARKER;
    const rest = this.encodeUser(key.slice(restAt));
    const out = new Uint8Array(head.length + rest.length);
    out.set(head, 0);
    out.set(rest, head.length);
    return out;
  }

  decode(encoded: Uint8Array): string {
    if (encoded[0] !== INTERNAL_MARKER) return this.decodeUser(encoded);
    const body = encoded.subarray(1);
    const nameAt = 2 + INDEX_BODY_BYTES.length;
    if (body.length > nameAt && startsWithAt(body, INDEX_BODY_BYTES, 2)) {
      const nameEnd = body.indexOf(ENCODED_SLASH, nameAt);
      if (nameEnd >= 0) {
        return (
          INDEX_PREFIX + fromUtf8(body.subarray(nameAt, nameEnd)) + '/' + this.decodeUser(body.subarray(nameEnd + 1))
        );
      }
    }
    return hierarchicalDecode(body);
  }

  compare(a: string, b: string): number {
    const ia = isInternalKey(a);
    const ib = isInternalKey(b);
    // Internal keys sort after user keys; among themselves they are rare: compare encodings.
    if (ia || ib) return ia && ib ? compareBytes(this.encode(a), this.encode(b)) : ia ? 1 : -1;
    return this.compareUser(a, b);
  }

  /** Same order as the encoded bytes, without encoding (merging results compares a lot). */
  protected abstract compareUser(a: string, b: string): number;
}

function startsWithAt(bytes: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (bytes.length < at + prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[at + i] !== prefix[i]) return false;
  return true;
}

class HierarchicalEncoder extends BaseEncoder {
  readonly sorting = 'hierarchical' as const;
  protected encodeUser(key: string): Uint8Array {
    return hierarchicalEncode(key, 0);
  }
  protected decodeUser(encoded: Uint8Array): string {
    return hierarchicalDecode(encoded);
  }
  protected compareUser(a: string, b: string): number {
    const da = depthOf(a);
    const db = depthOf(b);
    return da !== db ? da - db : compareSlashHighest(a, b);
  }
}

class NaturalEncoder extends BaseEncoder {
  readonly sorting = 'natural' as const;
  protected encodeUser(key: string): Uint8Array {
    return utf8(key);
  }
  protected decodeUser(encoded: Uint8Array): string {
    return fromUtf8(encoded);
  }
  protected compareUser(a: string, b: string): number {
    return compareUtf8(a, b);
  }
}

/** The hierarchical level of a key, as its encoding's 2-byte prefix records it. */
function depthOf(key: string): number {
  let depth = 0;
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) === SLASH) depth++;
  const n = key.length;
  if (n >= 2 && key.charCodeAt(n - 1) === SLASH && key.charCodeAt(n - 2) === SLASH) depth--;
  return depth > DEPTH_MAX ? DEPTH_MAX : depth;
}

/** UTF-8 byte order where '/' (encoded as 0xff) ranks above every other character. */
function compareSlashHighest(a: string, b: string): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x === SLASH) return 1;
    if (y === SLASH) return -1;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

const ENCODERS: Readonly<Record<KeySorting, KeyEncoder>> = Object.freeze({
  hierarchical: new HierarchicalEncoder(),
  natural: new NaturalEncoder(),
});

export function keyEncoder(sorting: KeySorting): KeyEncoder {
  const e = ENCODERS[sorting];
  if (!e) throw new Error(`unknown key sorting ${String(sorting)}`);
  return e;
}

/**
 * The namespace's key order, the order each shard returns keys in; the client picks the
 * nearest of the shards' answers to a non-EQUAL get by it. (List and RangeScan results of
 * several shards are merged by `compareWithSlash` instead, as the official clients do.)
 */
export function keyComparator(sorting: KeySorting): (a: string, b: string) => number {
  const e = keyEncoder(sorting);
  return (a, b) => e.compare(a, b);
}

/**
 * The encoded range holding the keys directly under an internal prefix ending in '/'
 * (e.g. all sessions, all notification batches): [prefix, prefix + "/"). The same for
 * both sortings, since internal keys do not depend on the namespace.
 */
export function internalChildrenRange(prefix: string): { gte: Uint8Array; lt: Uint8Array } {
  if (!isInternalKey(prefix) || !prefix.endsWith('/') || indexRestOffset(prefix) >= 0) {
    throw new Error(`not an internal prefix with fixed layout: ${prefix}`);
  }
  const enc = ENCODERS.natural;
  return { gte: enc.encode(prefix), lt: enc.encode(prefix + '/') };
}

/**
 * The encoded range holding every entry of one secondary index, in index order
 * (secondary key in the namespace's order, then primary key). The same for both
 * sortings: only what follows this prefix depends on the namespace.
 */
export function indexEntriesRange(indexName: string): { gte: Uint8Array; lt: Uint8Array } {
  const head = hierarchicalEncode(INDEX_PREFIX + indexName + '/', 1);
  head[0] = INTERNAL_MARKER;
  return { gte: head, lt: prefixSuccessor(head)! };
}
