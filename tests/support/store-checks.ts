// Checks of a shard store's content that hold at every state an apply (or a crash during
// one) can leave: its index entries and shadows agree with its records, and each key is as
// one of the states entries leave it.
import * as assert from 'uvu/assert';
import type { DatabaseConfig } from '../../src/domain/database/api.js';
import type { KvReadView } from '../../src/domain/database/kv-view.js';
import { keyEncoder } from '../../src/domain/keys/key-encoder.js';
import { indexEntryKey, parseIndexEntryKey, parseShadowKey, sessionKey, shadowKey } from '../../src/domain/keys/internal-keys.js';
import { INTEGRITY_KEY_ENCODED } from '../../src/domain/integrity/index.js';
import { StorageEntry } from '../../src/domain/wire/storage.js';

/** Every key of a store (hex) with its value (hex). */
export type StoreDump = Map<string, string>;

/**
 * Leaves out the integrity record (ADR 0031): applyBatch keeps it, entries applied one by one
 * through the state machine (the reference states) do not.
 */
export async function dumpStore(view: KvReadView): Promise<StoreDump> {
  const out: StoreDump = new Map();
  for await (const e of view.range({})) if (Buffer.compare(e.key, INTEGRITY_KEY_ENCODED) !== 0) out.set(Buffer.from(e.key).toString('hex'), Buffer.from(e.value).toString('hex'));
  return out;
}

/** Keys every entry rewrites (or an apply in chunks keeps for itself): not part of "before or after". */
const BOOKKEEPING = ['__oxia/commit-offset', '__oxia/last-version-id', '__oxia/notifications/', '__oxia/apply-progress'];

/**
 * Each key of `now` (but the bookkeeping ones and `exempt`) holds its value in one of `states`
 * (absent counts as a value): what a reader may see while entries are applied.
 */
export function assertEachKeyInOneOf(
  now: StoreDump,
  states: readonly StoreDump[],
  config: DatabaseConfig,
  label: string,
  exempt: readonly string[] = [],
): void {
  const encoder = keyEncoder(config.keySorting);
  const keys = new Set(now.keys());
  for (const s of states) for (const k of s.keys()) keys.add(k);
  for (const hex of keys) {
    const key = encoder.decode(Buffer.from(hex, 'hex'));
    if (BOOKKEEPING.some((p) => key.startsWith(p)) || exempt.includes(key)) continue;
    const v = now.get(hex);
    assert.ok(
      states.some((s) => s.get(hex) === v),
      `${label}: ${JSON.stringify(key)} is ${v === undefined ? 'absent' : 'present'}, as in none of the states entries leave`,
    );
  }
}

/**
 * Every index entry has its record (which names it), every shadow its ephemeral record
 * (owned by that session), and the other way round.
 */
export async function assertStoreConsistent(view: KvReadView, config: DatabaseConfig, label: string): Promise<void> {
  const encoder = keyEncoder(config.keySorting);
  const keys = new Map<string, Uint8Array>();
  for await (const e of view.range({})) keys.set(encoder.decode(e.key), e.value);
  const recordOf = (key: string) => {
    const v = keys.get(key);
    return v === undefined ? undefined : StorageEntry.decode(v);
  };
  for (const [key, value] of keys) {
    const index = parseIndexEntryKey(key);
    if (index) {
      const record = recordOf(index.primaryKey);
      assert.ok(
        record?.secondaryIndexes.some((x) => x.indexName === index.indexName && x.secondaryKey === index.secondaryKey),
        `${label}: index entry ${JSON.stringify(key)} has its record`,
      );
      continue;
    }
    const shadow = /^__oxia\/session\/([0-9a-f]{16})\/./.exec(key);
    if (shadow) {
      const owner = BigInt('0x' + shadow[1]);
      const record = recordOf(parseShadowKey(key, sessionKey(owner) + '/')!);
      assert.is(record?.sessionId, owner, `${label}: shadow ${key} has its record`);
      continue;
    }
    if (key.startsWith('__oxia/')) continue;
    const record = StorageEntry.decode(value);
    for (const x of record.secondaryIndexes) {
      assert.ok(keys.has(indexEntryKey(x.indexName, x.secondaryKey, key)), `${label}: record ${key} has its index entry in ${x.indexName}`);
    }
    if (record.sessionId !== undefined) assert.ok(keys.has(shadowKey(record.sessionId, key)), `${label}: ephemeral record ${key} has its shadow`);
  }
}
