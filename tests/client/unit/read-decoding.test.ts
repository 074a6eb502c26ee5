// The client's own ReadResponse decoder (get-answer.ts) against the generated codec: the same
// answers for every field, unknown fields skipped, malformed input refused; and the shard
// directory's memo of routing hashes routes as the hash does.
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { answerOf, decodeReadResponse } from '../../../src/adapters/client/internal/get-answer.js';
import { RpcError } from '../../../src/adapters/client/internal/rpc-error.js';
import { ShardDirectory } from '../../../src/adapters/client/internal/shard-directory.js';
import { findByHash, splitHashRange } from '../../../src/domain/sharding/hash-range.js';
import { routingHash } from '../../../src/domain/sharding/hash.js';
import { ReadResponse, ShardKeyRouter, Status, type GetResponse } from '../../../src/domain/wire/client.js';

const gets: GetResponse[] = [
  {
    status: Status.OK,
    version: { versionId: 0n, modificationsCount: 0n, createdTimestamp: 0n, modifiedTimestamp: 0n },
    value: Buffer.alloc(0),
  },
  {
    status: Status.OK,
    version: {
      versionId: 2n ** 40n + 7n,
      modificationsCount: 300n,
      createdTimestamp: 1_764_000_000_123n,
      modifiedTimestamp: 1_764_000_000_456n,
      sessionId: 2n ** 35n,
      clientIdentity: 'client-ä',
    },
    value: Buffer.from('a value with ü'),
    key: '/a/ß',
    secondaryIndexKey: 'idx-1',
  },
  { status: Status.KEY_NOT_FOUND },
  { status: Status.OK, version: { versionId: -1n, modificationsCount: 1n, createdTimestamp: 5n, modifiedTimestamp: 6n }, value: Buffer.alloc(300, 9) },
];

test('answers decoded from the bytes equal the generated codec decoded and converted', () => {
  const bytes = ReadResponse.encode({ gets }).finish();
  const decoded = decodeReadResponse(bytes);
  const expected = ReadResponse.decode(bytes).gets.map(answerOf);
  assert.equal(decoded.length, gets.length);
  decoded.forEach((a, i) => {
    const e = expected[i]!;
    assert.is(a.status, e.status, `status of ${i}`);
    assert.is(a.key, e.key, `key of ${i}`);
    assert.is(a.secondaryIndexKey, e.secondaryIndexKey, `secondary key of ${i}`);
    assert.equal(a.value === undefined ? undefined : [...a.value], e.value === undefined ? undefined : [...e.value], `value of ${i}`);
    assert.ok(a.value === undefined || !Buffer.isBuffer(a.value), 'a plain Uint8Array, as the official client returns');
    assert.equal(a.version, e.version, `version of ${i}`);
  });
  assert.is(decoded[1]!.version!.versionId, 2 ** 40 + 7);
  assert.is(decoded[1]!.version!.createdTimestamp.getTime(), 1_764_000_000_123);
  assert.is(decoded[3]!.version!.versionId, -1);
});

test('unknown fields are skipped at every level', () => {
  const w = new BinaryWriter();
  w.uint32((9 << 3) | 0).uint64(123456789012n); // unknown varint in ReadResponse
  w.uint32(10).fork();
  w.uint32(8).int32(Status.OK);
  w.uint32((7 << 3) | 1).fixed64(1n); // unknown fixed64 in GetResponse
  w.uint32(18).fork().uint32(8).int64(42n).uint32((12 << 3) | 2).bytes(new Uint8Array([1, 2, 3])).uint32((13 << 3) | 5).fixed32(7).join();
  w.uint32(26).bytes(new Uint8Array([4, 5]));
  w.join();
  const [answer, ...rest] = decodeReadResponse(w.finish());
  assert.is(rest.length, 0);
  assert.is(answer!.version!.versionId, 42);
  assert.equal([...answer!.value!], [4, 5]);
});

test('a truncated message is refused, not read past its end', () => {
  const bytes = ReadResponse.encode({ gets: [gets[1]!] }).finish();
  for (const cut of [bytes.length - 1, bytes.length - 5, 3]) {
    assert.throws(() => decodeReadResponse(bytes.subarray(0, cut)), (e: unknown) => e instanceof RpcError && e.kind === 'Internal', `cut at ${cut}`);
  }
});

test('the routing-hash memo routes every key as its hash does, also after it starts over', () => {
  const directory = new ShardDirectory();
  const ranges = splitHashRange(3);
  directory.update({
    shardKeyRouter: ShardKeyRouter.XXHASH3,
    assignments: ranges.map((r, i) => ({
      shard: BigInt(i),
      leader: `server-${i}:1`,
      shardBoundaries: { $case: 'int32HashRange', value: { minHashInclusive: r.min, maxHashInclusive: r.max } },
    })),
  });
  const shards = directory.all();
  // More keys than the memo holds, twice: the second pass finds some remembered, some not.
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < 20_000; i++) {
      const key = i % 1000 === 0 ? `/long/${'x'.repeat(300)}/${i}` : `/k/${i}`;
      assert.is(directory.shardFor(key), findByHash(shards, routingHash(key)), key);
    }
  }
});

test.run();
