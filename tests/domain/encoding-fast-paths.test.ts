import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { encodeMessage } from '../../src/domain/database/message-encoding.js';
import { decodePointAnswer } from '../../src/domain/database/reads.js';
import { decodeRecordHeader, versionOf } from '../../src/domain/database/records.js';
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

/** Stored records: all fields set, none, negative and large numbers, unknown and repeated fields. */
function recordCases(): Record<string, Uint8Array> {
  const full: StorageEntry = { ...entry(128, 41n), sessionId: 9_000_000_000n, clientIdentity: 'me', secondaryIndexes: [{ indexName: 'a', secondaryKey: 'x' }, { indexName: 'b', secondaryKey: 'y' }] };
  const cases: Record<string, Uint8Array> = {
    'all fields': StorageEntry.encode(full).finish(),
    'zero values (left out)': StorageEntry.encode({ value: Buffer.alloc(0), versionId: 0n, modificationsCount: 0n, creationTimestamp: 0n, modificationTimestamp: 0n, secondaryIndexes: [] }).finish(),
    'negative and large': StorageEntry.encode({ ...entry(1, -1n), modificationsCount: 2n ** 62n, creationTimestamp: 2n ** 64n - 1n }).finish(),
  };
  // Unknown fields of every wire type, and fields repeated (the later wins), after a whole record.
  const extra = new BinaryWriter();
  extra.uint32((20 << 3) | 0).uint64(123n);
  extra.uint32((21 << 3) | 1).fixed64(5n);
  extra.uint32((22 << 3) | 2).bytes(Buffer.from('unknown'));
  extra.uint32((23 << 3) | 5).fixed32(7);
  extra.uint32((2 << 3) | 0).int64(77n);
  extra.uint32((6 << 3) | 0).int64(5n);
  extra.uint32((1 << 3) | 2).bytes(Buffer.from('later value'));
  extra.uint32((7 << 3) | 2).string('later identity');
  cases['unknown and repeated fields'] = Buffer.concat([StorageEntry.encode(full).finish(), extra.finish()]);
  return cases;
}

test('a record header decodes as StorageEntry.decode reads those fields: all set, none, negative, unknown and repeated fields', () => {
  const header = (e: StorageEntry) => ({
    versionId: e.versionId,
    modificationsCount: e.modificationsCount,
    creationTimestamp: e.creationTimestamp,
    sessionId: e.sessionId,
    secondaryIndexes: e.secondaryIndexes,
  });
  const cases = recordCases();
  for (const [name, bytes] of Object.entries(cases)) {
    assert.equal(decodeRecordHeader(bytes), header(StorageEntry.decode(bytes)), name);
  }
  assert.is(decodeRecordHeader(cases['unknown and repeated fields']!).versionId, 77n, 'the test covers a repeated field');
});

test("a get's answer decodes as StorageEntry.decode reads its version and value, the value a view of the stored bytes", () => {
  for (const [name, bytes] of Object.entries(recordCases())) {
    const record = StorageEntry.decode(bytes);
    const answer = decodePointAnswer(bytes);
    assert.equal(answer.version, versionOf(record), name);
    assert.equal(Buffer.compare(answer.value, record.value), 0, name);
    if (answer.value.length > 0) assert.is(answer.value.buffer, bytes.buffer, `${name}: not copied`);
  }
  const repeated = decodePointAnswer(recordCases()['unknown and repeated fields']!);
  assert.is(repeated.value.toString(), 'later value', 'the test covers a repeated value');
  assert.is(repeated.version.clientIdentity, 'later identity');
});

test('utf8 matches TextEncoder for ASCII, multi-byte text, lone surrogates and long strings', () => {
  const te = new TextEncoder();
  for (const s of ['', '/a/b/c', 'key-123', 'é/ü', '日本', '😀x', 'a\uD800b', '\uDC00', 'x'.repeat(128) + 'é', 'y'.repeat(129), 'é'.repeat(200)]) {
    assert.equal(utf8(s), te.encode(s), JSON.stringify(s));
  }
});

test.run();
