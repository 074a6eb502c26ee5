// The apply reads each record it replaces once: the state digest (ADR 0031) recalls the value
// the state machine read by the same key object (domain/database/remembering-view.ts) instead
// of reading the store again. Real SQLite files.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { KvStore } from '../../src/application/ports/kv-store.js';
import { applyBatch, type DecodedEntry } from '../../src/application/shard/apply-batch.js';
import { NOT_RECALLED, RememberingView } from '../../src/domain/database/index.js';
import { MemoryKv } from '../../src/domain/database/memory-kv.js';
import { encodeMessage } from '../../src/domain/database/message-encoding.js';
import { readIntegrity, scanDigest } from '../../src/domain/integrity/index.js';
import { PutRequest, WriteRequest } from '../../src/domain/wire/client.js';
import { LogEntryValue } from '../../src/domain/wire/storage.js';
import { INTERNAL_MARKER } from '../../src/domain/keys/key-encoder.js';
import { CONFIG, openStore } from './fixtures/range-workload.js';
import { withTempDir } from '../support/temp-dir.js';

function putsEntry(offset: bigint, keys: readonly string[], value: string): DecodedEntry {
  const puts = keys.map((key) => PutRequest.fromPartial({ key, value: Buffer.from(value) }));
  const v: LogEntryValue = { value: { $case: 'requests', value: { writes: [WriteRequest.fromPartial({ puts })] } } };
  return { entry: { term: 1n, offset, timestamp: 1_000n + offset, value: encodeMessage(LogEntryValue, v) }, value: v };
}

/** The store, with its synchronous point reads counted per key. */
function countingReads(store: KvStore, reads: Map<string, number>): KvStore {
  return new Proxy(store, {
    get(target, prop) {
      const member: unknown = Reflect.get(target, prop, target);
      if (prop === 'getNow' && typeof member === 'function') {
        return (key: Uint8Array) => {
          const k = Buffer.from(key).toString('latin1');
          reads.set(k, (reads.get(k) ?? 0) + 1);
          return (member as (key: Uint8Array) => Uint8Array | undefined).call(target, key);
        };
      }
      return typeof member === 'function' ? (member as (...args: unknown[]) => unknown).bind(target) : member;
    },
  });
}

test('RememberingView recalls what its base answered, by key object, until forget()', () => {
  const base = new MemoryKv();
  base.write([{ type: 'put', key: Buffer.from('k'), value: Buffer.from('v') }]);
  const view = new RememberingView(base);
  const key = Buffer.from('k');
  const absent = Buffer.from('x');
  assert.is(view.recalled(key), NOT_RECALLED, 'nothing asked yet');
  assert.equal(view.getNow!(key), Buffer.from('v'));
  assert.is(view.getNow!(absent), undefined);
  assert.equal(view.recalled(key), Buffer.from('v'));
  assert.is(view.recalled(absent), undefined, 'an absent key is recalled as absent');
  assert.is(view.recalled(Buffer.from('k')), NOT_RECALLED, 'another object with the same bytes is not recalled');
  view.forget();
  assert.is(view.recalled(key), NOT_RECALLED);
});

test('applying puts over existing records reads each record once, and the kept digest is the digest of the records', () =>
  withTempDir('apply-reads', async (dir) => {
    const store = await openStore('sqlite', dir);
    try {
      const keys = Array.from({ length: 50 }, (_, i) => `/k/${i}`);
      await applyBatch(store, CONFIG, [putsEntry(0n, keys, 'first')]);
      const reads = new Map<string, number>();
      const counted = countingReads(store, reads);
      // Two entries in one batch: the second replaces what the first staged (read from the overlay).
      await applyBatch(counted, CONFIG, [putsEntry(1n, keys, 'second'), putsEntry(2n, keys.slice(0, 10), 'third')]);
      const userReads = [...reads].filter(([k]) => k.charCodeAt(0) !== INTERNAL_MARKER);
      assert.is(userReads.length, keys.length, 'every replaced record was read');
      for (const [key, count] of userReads) assert.is(count, 1, `${JSON.stringify(key)} read ${count} times`);
      const integrity = await readIntegrity(store);
      assert.ok(integrity);
      assert.is(integrity.digest, await scanDigest(store));
    } finally {
      await store.close();
    }
  }),
);

test.run();
