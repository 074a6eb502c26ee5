import { fromUtf8, utf8 } from '../keys/bytes.js';
import { internalChildrenRange } from '../keys/key-encoder.js';
import { COMMIT_OFFSET_KEY, FEATURES_PREFIX, TERM_KEY, TERM_OPTIONS_KEY, featureKey } from '../keys/internal-keys.js';
import type { KeySorting } from '../sharding/namespace.js';
import type { CommitState, TermOptions } from './api.js';
import type { KvOp, KvReadView } from './kv-view.js';
import { INTERNAL_ENCODER, asciiLongOp, internalRecordOp, readAsciiLong, readRecord } from './records.js';

/**
 * Replica state kept in the store next to the data, under internal keys:
 * the offset of the last applied entry (written by every entry, in the same batch),
 * the term accepted by NewTerm with its options, and the features enabled through
 * the log.
 */
export async function readCommitState(view: KvReadView): Promise<CommitState> {
  const [commitOffset, term] = await Promise.all([
    readAsciiLong(view, COMMIT_OFFSET_KEY, -1n),
    readAsciiLong(view, TERM_KEY, -1n),
  ]);
  return { commitOffset, term };
}

// Oxia stores the options as Go's JSON of its TermOptions struct, with the key
// sorting as the protobuf enum number.
const SORTING_TO_WIRE: Readonly<Record<KeySorting, number>> = { natural: 1, hierarchical: 2 };

/** Ops that persist a new term (and, when given, its NewTerm options). Not part of the log. */
export function termOps(term: bigint, options?: TermOptions, timestampMs: bigint = 0n): KvOp[] {
  const ops = [asciiLongOp(TERM_KEY, term, timestampMs)];
  if (options) {
    const json = JSON.stringify({
      NotificationsEnabled: options.notificationsEnabled,
      KeySorting: options.keySorting === undefined ? 0 : SORTING_TO_WIRE[options.keySorting],
    });
    ops.push(internalRecordOp(TERM_OPTIONS_KEY, utf8(json), timestampMs));
  }
  return ops;
}

export async function readTermOptions(view: KvReadView): Promise<TermOptions | undefined> {
  const entry = await readRecord(view, INTERNAL_ENCODER.encode(TERM_OPTIONS_KEY));
  if (!entry) return undefined;
  const parsed = JSON.parse(fromUtf8(entry.value)) as { NotificationsEnabled?: unknown; KeySorting?: unknown };
  const sorting = parsed.KeySorting === 1 ? 'natural' : parsed.KeySorting === 2 ? 'hierarchical' : undefined;
  return { notificationsEnabled: parsed.NotificationsEnabled === true, ...(sorting ? { keySorting: sorting } : {}) };
}

export function featureOp(feature: number, timestampMs: bigint): KvOp {
  return asciiLongOp(featureKey(feature), BigInt(feature), timestampMs);
}

/** Features enabled through the log (replication.Feature numbers). */
export async function readEnabledFeatures(view: KvReadView): Promise<Set<number>> {
  const features = new Set<number>();
  for await (const e of view.range(internalChildrenRange(FEATURES_PREFIX))) {
    const key = INTERNAL_ENCODER.decode(e.key);
    const n = Number(key.slice(FEATURES_PREFIX.length));
    if (Number.isInteger(n) && n >= 0 && key === featureKey(n)) features.add(n);
  }
  return features;
}
