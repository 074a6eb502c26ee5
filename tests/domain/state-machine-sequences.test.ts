import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { highestSequenceKey } from '../../src/domain/database/index.js';
import { Status } from '../../src/domain/wire/client.js';
import { Db, put } from './db-harness.js';

const seq = (...n: number[]) => n.map((x) => '-' + String(x).padStart(20, '0')).join('');

for (const sorting of ['natural', 'hierarchical'] as const) {
  test(`${sorting}: sequence keys follow Oxia (TestDB_SequentialKeys)`, async () => {
    const db = new Db(sorting);
    const sp = (key: string, deltas: number[], extra = {}) =>
      db.apply({ puts: [put(key, '0', { partitionKey: 'x', sequenceKeyDelta: deltas.map(BigInt), ...extra })] });

    let a = await db.apply({ puts: [put('a', '0', { sequenceKeyDelta: [3n] })] });
    assert.is(a.errors[0]?.kind, 'InvalidArgument', 'a partition key is required');
    assert.match(a.errors[0]!.message, /partition key/);

    a = await sp('a', [0]);
    assert.match(a.errors[0]!.message, /first sequence key delta/);

    a = await sp('a', [5], { expectedVersionId: 1n });
    assert.is(a.errors[0], undefined);
    assert.is(a.responses[0]!.puts[0]!.status, Status.UNEXPECTED_VERSION_ID, 'no expected version on sequence puts');

    a = await sp('a', [5]);
    assert.is(a.responses[0]!.puts[0]!.key, 'a' + seq(5));
    a = await sp('a', [3]);
    assert.is(a.responses[0]!.puts[0]!.key, 'a' + seq(8));
    a = await sp('a', [6, 9]);
    assert.is(a.responses[0]!.puts[0]!.key, 'a' + seq(14, 9));

    a = await sp('a', [2]);
    assert.match(a.errors[0]!.message, /1 delta\(s\) but the existing sequence key .* has 2 part/);

    await db.putOne('b+xxxx', '0', { partitionKey: 'x' });
    a = await sp('b', [2]);
    assert.is(a.responses[0]!.puts[0]!.key, 'b' + seq(2), 'a neighbour without a numeric suffix is ignored');

    await db.putOne('c+.....', '0', { partitionKey: 'x' });
    a = await sp('c', [2]);
    assert.is(a.responses[0]!.puts[0]!.key, 'c' + seq(2));

    a = await sp('a', [6, 9, 15]);
    assert.is(a.responses[0]!.puts[0]!.key, 'a' + seq(20, 18, 15));
    assert.is(await db.value('a' + seq(20, 18, 15)), '0');
  });
}

test('sequence puts in one request build on each other and report the last key per prefix', async () => {
  const db = new Db();
  const sp = (deltas: number[]) => put('/q/item', 'v', { partitionKey: 'p', sequenceKeyDelta: deltas.map(BigInt) });
  const a = await db.apply({ puts: [sp([3]), sp([5]), sp([10])] });
  assert.equal(a.responses[0]!.puts.map((p) => p.key), ['/q/item' + seq(3), '/q/item' + seq(8), '/q/item' + seq(18)]);
  assert.equal([...a.sequenceUpdates], [['/q/item', '/q/item' + seq(18)]]);
  assert.equal(a.responses[0]!.puts.map((p) => p.version!.versionId), [0n, 1n, 2n]);
  const n = a.notifications!.notifications.map((x) => x.key);
  assert.equal(n, ['/q/item' + seq(3), '/q/item' + seq(8), '/q/item' + seq(18)]);
});

test('highestSequenceKey reports the last key of a sequence (GetSequenceUpdates)', async () => {
  const db = new Db();
  assert.is(await highestSequenceKey(db.kv, '/q', db.config), undefined);
  await db.putOne('/q', 'v', { partitionKey: 'p', sequenceKeyDelta: [1n] });
  await db.putOne('/q', 'v', { partitionKey: 'p', sequenceKeyDelta: [4n] });
  await db.putOne('/qq', 'v', { partitionKey: 'p', sequenceKeyDelta: [9n] });
  assert.is(await highestSequenceKey(db.kv, '/q', db.config), '/q' + seq(5));
  assert.is(await highestSequenceKey(db.kv, '/qq', db.config), '/qq' + seq(9));
  assert.is(await highestSequenceKey(db.kv, '/r', db.config), undefined);
});

test('a sequence that would pass 2^64-1 fails instead of wrapping', async () => {
  const db = new Db('natural');
  await db.putOne('s-18446744073709551614', 'v');
  const a = await db.apply({ puts: [put('s', 'v', { partitionKey: 'p', sequenceKeyDelta: [2n] })] });
  assert.is(a.errors[0]?.kind, 'InvalidArgument');
  assert.match(a.errors[0]!.message, /overflow/);
});

test('an existing key with a non-numeric suffix under the prefix fails the put', async () => {
  const db = new Db('natural');
  await db.putOne('s-', 'v');
  const a = await db.apply({ puts: [put('s', 'v', { partitionKey: 'p', sequenceKeyDelta: [1n] })] });
  assert.match(a.errors[0]!.message, /non-numeric/);
});

test.run();
