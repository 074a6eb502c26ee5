import { xxh3 } from '@node-rs/xxhash';
import { compareBytes } from '../keys/bytes.js';
import {
  APPLY_NOTES_PREFIX,
  APPLY_PROGRESS_KEY,
  CHECKSUM_KEY,
  COMMIT_OFFSET_KEY,
  INTEGRITY_KEY,
  NOTIFICATIONS_PREFIX,
  TERM_KEY,
  TERM_OPTIONS_KEY,
} from '../keys/internal-keys.js';
import { INTERNAL_MARKER, internalChildrenRange, keyEncoder } from '../keys/key-encoder.js';
import { pointRead, type KvOp, type KvReadView } from '../database/kv-view.js';

/**
 * The digest of a shard's state (ADR 0031): the sum, modulo 2^64, of one 64-bit hash per
 * record the log determines. A record is a (key, value) pair of the store as the port sees
 * it: keys already encoded by domain/keys, values already encoded by domain/database, so a
 * SQLite and a LevelDB replica of one shard hold the same pairs and have the same digest.
 *
 * Counted: user records (value, version id, modification count, timestamps, session id,
 * client identity, secondary index names, all inside the stored value), secondary index
 * entries, session records and their shadows, the last version id and the features
 * enabled through the log. Not counted: what each replica keeps for itself or trims on its
 * own clock: the term and its options, the commit offset, the apply progress of a chunked
 * entry, notifications (trimmed by each node's retention) and the integrity record itself.
 *
 * A sum of per-record hashes changes by (new - old) when one record changes, so the digest
 * follows every write in O(1), and it depends only on the set of records, not on the order
 * or batching in which they were written.
 */
const INTERNAL = keyEncoder('natural');
const EXCLUDED_KEYS = [COMMIT_OFFSET_KEY, CHECKSUM_KEY, TERM_KEY, TERM_OPTIONS_KEY, APPLY_PROGRESS_KEY, INTEGRITY_KEY].map((k) => INTERNAL.encode(k));
const EXCLUDED_RANGES = [NOTIFICATIONS_PREFIX, APPLY_NOTES_PREFIX].map((p) => internalChildrenRange(p));

/** Whether the record under this encoded key counts in the digest. */
export function countsInDigest(key: Uint8Array): boolean {
  if (key[0] !== INTERNAL_MARKER) return true;
  // Keys that no encoded key can equal (0xff 0xff: the snapshot install marker) are not records.
  if (key.length > 1 && key[1] === 0xff) return false;
  for (const k of EXCLUDED_KEYS) if (compareBytes(k, key) === 0) return false;
  for (const r of EXCLUDED_RANGES) if (compareBytes(key, r.gte) >= 0 && compareBytes(key, r.lt) < 0) return false;
  return true;
}

/** The hash of one record: the value hashed with the key's hash as seed, so (key, value) boundaries are unambiguous. */
export function recordHash(key: Uint8Array, value: Uint8Array): bigint {
  return xxh3.xxh64(value, xxh3.xxh64(key));
}

export const EMPTY_DIGEST = 0n;

/** The digest with a record added (`sign` 1) or removed (`sign` -1). */
export function digestWith(digest: bigint, key: Uint8Array, value: Uint8Array, sign: 1 | -1): bigint {
  const h = recordHash(key, value);
  return BigInt.asUintN(64, sign === 1 ? digest + h : digest - h);
}

/** Reads the value a key has before the ops: synchronously when the store can (no promise per key). */
export type ValueReader = (key: Uint8Array) => Uint8Array | undefined | Promise<Uint8Array | undefined>;

/** A ValueReader over `view`, synchronous when the view reads synchronously. */
export function readerOf(view: KvReadView): ValueReader {
  return (key) => pointRead(view, key);
}

/**
 * Applies `ops` (in order, a later op on a key winning) to `digest`, given `read`: the state
 * the ops are written over. Each counted key costs one read of its current value. The key's
 * hash (the seed of both the old and the new record's hash) is computed once per op, and the
 * sum is reduced modulo 2^64 once at the end: the same digest as digestWith step by step.
 */
export async function digestAfter(digest: bigint, read: ValueReader, ops: readonly KvOp[]): Promise<bigint> {
  // Values already replaced by earlier ops of this call, by key (latin1: one char per byte).
  // Not needed when no key repeats, as in ops in strict key order (an overlay's pendingOps,
  // what the apply passes): a byte comparison per op is cheaper than a string and a map entry.
  const repeats = ops.length > 1 && !strictlyAscending(ops);
  let replaced: Map<string, Uint8Array | undefined> | undefined;
  let sum = digest;
  for (const op of ops) {
    if (!countsInDigest(op.key)) continue;
    let old: Uint8Array | undefined;
    const id = repeats ? latin1(op.key) : '';
    if (replaced?.has(id)) old = replaced.get(id);
    else {
      const value = read(op.key);
      old = value instanceof Promise ? await value : value;
    }
    const now = op.type === 'put' ? op.value : undefined;
    if (old !== undefined || now !== undefined) {
      const keyHash = xxh3.xxh64(op.key);
      if (old !== undefined) sum -= xxh3.xxh64(old, keyHash);
      if (now !== undefined) sum += xxh3.xxh64(now, keyHash);
    }
    if (repeats) (replaced ??= new Map()).set(id, now);
  }
  return BigInt.asUintN(64, sum);
}

/** The digest of everything in `view`, by a full scan. */
export async function scanDigest(view: KvReadView): Promise<bigint> {
  let digest = EMPTY_DIGEST;
  for await (const { key, value } of view.range({})) {
    if (countsInDigest(key)) digest = digestWith(digest, key, value, 1);
  }
  return digest;
}

function strictlyAscending(ops: readonly KvOp[]): boolean {
  for (let i = 1; i < ops.length; i++) if (compareBytes(ops[i - 1]!.key, ops[i]!.key) >= 0) return false;
  return true;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
