import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeMessage } from '../../src/domain/database/message-encoding.js';
import { utf8 } from '../../src/domain/keys/bytes.js';
import { StorageEntry } from '../../src/domain/wire/storage.js';

function entry(valueBytes: number, versionId: bigint): StorageEntry {
  return {
    value: Buffer.alloc(valueBytes, 7),
    versionId,
    modificationsCount: 3n,
    creationTimestamp: 1764115200000n,
    modificationTimestamp: 1764115200001n,
    partitionKey: 'p',
    secondaryIndexes: [{ indexName: 'idx', secondaryKey: 'k'.repeat(300) }],
  };
}

test('the reused writer encodes exactly as a fresh one, across sizes and in any order', () => {
  for (const size of [0, 1, 127, 128, 5000, 2 * 1024 * 1024, 10]) {
    const e = entry(size, BigInt(size) - 1n);
    assert.equal(encodeMessage(StorageEntry, e), StorageEntry.encode(e).finish(), `value of ${size} bytes`);
  }
});

test('results are independent copies: a later encode does not change an earlier result', () => {
  const first = encodeMessage(StorageEntry, entry(10, 1n));
  const copy = first.slice();
  encodeMessage(StorageEntry, entry(20, 2n));
  assert.equal(first, copy);
});

test('an encode that throws half-way leaves nothing behind for the next one', () => {
  const bad = { ...entry(50, 1n), sessionId: 1n << 70n };
  assert.throws(() => encodeMessage(StorageEntry, bad), /too large/);
  const good = entry(5, 9n);
  assert.equal(encodeMessage(StorageEntry, good), StorageEntry.encode(good).finish());
});

test('utf8 matches TextEncoder for ASCII, multi-byte text, lone surrogates and long strings', () => {
  const te = new TextEncoder();
  for (const s of ['', '/a/b/c', 'key-123', 'é/ü', '日本', '😀x', 'a\uD800b', '\uDC00', 'x'.repeat(128) + 'é', 'y'.repeat(129), 'é'.repeat(200)]) {
    assert.equal(utf8(s), te.encode(s), JSON.stringify(s));
  }
});

test.run();
