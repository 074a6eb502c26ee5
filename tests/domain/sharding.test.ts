import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { xxh3 } from '@node-rs/xxhash';
import { HASH_MAX, findByHash, splitHashRange } from '../../src/domain/sharding/hash-range.js';
import { routingHash, routingKey } from '../../src/domain/sharding/hash.js';

test('routing hash is the low 32 bits of XXH3-64 (Oxia client vectors)', () => {
  assert.is(routingHash('foo'), 125730186);
  assert.is(routingHash('bar'), 2687685474);
  assert.is(routingHash('baz'), 862947621);
});

test('routing hash of a non-ASCII key hashes its UTF-8 bytes', () => {
  for (const key of ['ключ/ü', '键-🔑', '']) {
    const bytes = Buffer.from(key, 'utf8');
    assert.is(routingHash(key), Number(xxh3.xxh64(bytes, 0n) & 0xffff_ffffn), key);
  }
});

test('routing key is the partition key when given, even empty', () => {
  assert.is(routingKey('k', undefined), 'k');
  assert.is(routingKey('k', 'p'), 'p');
  assert.is(routingKey('k', ''), '');
});

for (const count of [1, 2, 3, 5]) {
  test(`splitHashRange(${count}) covers [0, 2^32-1] with contiguous inclusive ranges`, () => {
    const ranges = splitHashRange(count);
    assert.is(ranges.length, count);
    assert.is(ranges[0]!.min, 0);
    assert.is(ranges[count - 1]!.max, HASH_MAX);
    assert.is(HASH_MAX, 4294967295);
    for (let i = 0; i < count; i++) {
      const r = ranges[i]!;
      assert.ok(r.min <= r.max, `range ${i} is not empty`);
      if (i > 0) assert.is(r.min, ranges[i - 1]!.max + 1, `range ${i} starts right after range ${i - 1}`);
    }
  });
}

test('splitHashRange uses equal buckets with the last one stretched (as Oxia)', () => {
  assert.equal(splitHashRange(2), [
    { min: 0, max: 2147483647 },
    { min: 2147483648, max: 4294967295 },
  ]);
  assert.equal(splitHashRange(3), [
    { min: 0, max: 1431655765 },
    { min: 1431655766, max: 2863311531 },
    { min: 2863311532, max: 4294967295 },
  ]);
  const five = splitHashRange(5);
  assert.equal(five[0], { min: 0, max: 858993459 });
  assert.equal(five[4], { min: 3435973840, max: 4294967295 });
});

test('every hash falls in exactly one range', () => {
  const shards = splitHashRange(5).map((range, i) => ({ range, i }));
  for (const h of [0, 1, 858993459, 858993460, 2147483648, 4294967295, routingHash('foo'), routingHash('bar')]) {
    const owners = shards.filter((s) => s.range.min <= h && h <= s.range.max);
    assert.is(owners.length, 1, `hash ${h}`);
    assert.is(findByHash(shards, h), owners[0]);
  }
});

test('splitHashRange rejects a bad count', () => {
  assert.throws(() => splitHashRange(0));
  assert.throws(() => splitHashRange(1.5));
});

test.run();
