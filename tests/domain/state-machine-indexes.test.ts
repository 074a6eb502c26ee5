import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { get } from '../../src/domain/database/index.js';
import { KeyComparisonType as Cmp, Status } from '../../src/domain/wire/client.js';
import { Db, del, put } from './db-harness.js';

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString());

async function valueIndexDb(sorting: 'natural' | 'hierarchical' = 'hierarchical') {
  const db = new Db(sorting);
  const puts = [];
  for (let i = 0; i < 10; i++) puts.push(put(String.fromCharCode(97 + i), String(i), { secondaryIndexes: { 'value-idx': String(i) } }));
  await db.write({ puts });
  return db;
}

test('list by secondary index returns primary keys in secondary-key order', async () => {
  const db = await valueIndexDb();
  assert.equal(await db.list('1', '4', { secondaryIndexName: 'value-idx' }), ['b', 'c', 'd']);
  assert.equal(await db.list('7', '', { secondaryIndexName: 'value-idx' }), ['h', 'i', 'j'], 'empty end: to the end of the index');
  assert.equal(await db.list('1', '4', { secondaryIndexName: 'other' }), []);
});

test('range scan by secondary index yields the primary records', async () => {
  const db = await valueIndexDb();
  const got = (await db.scan('1', '4', { secondaryIndexName: 'value-idx' })).map((r) => [r.key, text(r.value), r.status]);
  assert.equal(got, [
    ['b', '1', Status.OK],
    ['c', '2', Status.OK],
    ['d', '3', Status.OK],
  ]);
});

test('get by secondary index: EQUAL / FLOOR / CEILING / LOWER / HIGHER (official client expectations)', async () => {
  const db = new Db();
  const puts = [];
  for (let i = 1; i <= 9; i++) {
    const v = String(i).padStart(3, '0');
    puts.push(put(String.fromCharCode(97 + i), v, { secondaryIndexes: { 'value-idx': v } }));
  }
  await db.write({ puts });
  const lookup = async (q: string, cmp: Cmp) => {
    const r = await db.get(q, cmp, 'value-idx');
    return r.status === Status.OK ? [r.key, text(r.value), r.secondaryIndexKey] : 'not found';
  };
  assert.equal(await lookup('001', Cmp.EQUAL), ['b', '001', '001']);
  assert.is(await lookup('000', Cmp.EQUAL), 'not found');
  assert.is(await lookup('999', Cmp.EQUAL), 'not found');
  assert.is(await lookup('000', Cmp.FLOOR), 'not found');
  assert.equal(await lookup('005', Cmp.FLOOR), ['f', '005', '005']);
  assert.equal(await lookup('0055', Cmp.FLOOR), ['f', '005', '005']);
  assert.equal(await lookup('999', Cmp.FLOOR), ['j', '009', '009']);
  assert.equal(await lookup('000', Cmp.CEILING), ['b', '001', '001']);
  assert.equal(await lookup('005', Cmp.CEILING), ['f', '005', '005']);
  assert.is(await lookup('999', Cmp.CEILING), 'not found');
  assert.equal(await lookup('000', Cmp.HIGHER), ['b', '001', '001']);
  assert.equal(await lookup('001', Cmp.HIGHER), ['c', '002', '002']);
  assert.is(await lookup('009', Cmp.HIGHER), 'not found');
  assert.is(await lookup('001', Cmp.LOWER), 'not found');
  assert.equal(await lookup('005', Cmp.LOWER), ['e', '004', '004']);
  assert.equal(await lookup('999', Cmp.LOWER), ['j', '009', '009']);
  const noValue = await get(db.kv, { key: '001', includeValue: false, comparisonType: Cmp.EQUAL, secondaryIndexName: 'value-idx' }, db.config);
  assert.is(noValue.value, undefined);
  assert.is(noValue.key, 'b');
});

test('several records with one secondary key: EQUAL/FLOOR/CEILING pick the lowest primary key, LOWER the highest', async () => {
  const db = new Db();
  await db.write({
    puts: [
      put('/k/2', 'x', { secondaryIndexes: { idx: 'same' } }),
      put('/k/1', 'x', { secondaryIndexes: { idx: 'same' } }),
      put('/k/3', 'x', { secondaryIndexes: { idx: 'same' } }),
      put('/k/0', 'x', { secondaryIndexes: { idx: 'after' } }),
    ],
  });
  assert.is((await db.get('same', Cmp.EQUAL, 'idx')).key, '/k/1');
  assert.is((await db.get('same', Cmp.FLOOR, 'idx')).key, '/k/1');
  assert.is((await db.get('same', Cmp.CEILING, 'idx')).key, '/k/1');
  assert.is((await db.get('zzz', Cmp.LOWER, 'idx')).key, '/k/3');
  assert.is((await db.get('same', Cmp.HIGHER, 'idx')).status, Status.KEY_NOT_FOUND);
  assert.is((await db.get('after', Cmp.HIGHER, 'idx')).key, '/k/1');
  assert.equal(await db.list('same', 'same~', { secondaryIndexName: 'idx' }), ['/k/1', '/k/2', '/k/3']);
});

test('a get by index stays within the requested index', async () => {
  const db = new Db();
  await db.putOne('/x', 'v', { secondaryIndexes: { a: 'k1', b: 'k5' } });
  assert.is((await db.get('k3', Cmp.CEILING, 'a')).status, Status.KEY_NOT_FOUND);
  assert.is((await db.get('k3', Cmp.FLOOR, 'b')).status, Status.KEY_NOT_FOUND);
  assert.is((await db.get('k3', Cmp.HIGHER, 'a')).status, Status.KEY_NOT_FOUND);
  assert.is((await db.get('k3', Cmp.LOWER, 'b')).status, Status.KEY_NOT_FOUND);
  assert.is((await db.get('k3', Cmp.FLOOR, 'a')).key, '/x');
});

test('overwrites replace index entries; deletes and delete ranges remove them', async () => {
  const db = new Db();
  await db.putOne('/a', '1', { secondaryIndexes: { idx: 'x' } });
  await db.putOne('/b', '1', { secondaryIndexes: { idx: 'x', other: 'o' } });
  await db.putOne('/a', '2', { secondaryIndexes: { idx: 'y' } });
  assert.equal(await db.list('x', 'z', { secondaryIndexName: 'idx' }), ['/b', '/a']);
  assert.equal(await db.list('x', 'y', { secondaryIndexName: 'idx' }), ['/b']);
  await db.putOne('/b', '2');
  assert.equal(await db.list('', '', { secondaryIndexName: 'idx' }), ['/a']);
  assert.equal(await db.list('', '', { secondaryIndexName: 'other' }), []);
  await db.write({ deletes: [del('/a')] });
  assert.equal(await db.list('', '', { secondaryIndexName: 'idx' }), []);
  await db.putOne('/r/1', '1', { secondaryIndexes: { idx: 'r1' } });
  await db.putOne('/r/2', '1', { secondaryIndexes: { idx: 'r2' } });
  await db.write({ deleteRanges: [{ startInclusive: '/r/', endExclusive: '/r//' }] });
  assert.equal(await db.list('', '', { secondaryIndexName: 'idx' }), []);
  assert.equal((await db.allKeys()).filter((k) => k.startsWith('__oxia/idx/')), [], 'no index entry left behind');
});

test('secondary keys order like keys of the namespace (hierarchical levels, natural bytes)', async () => {
  for (const sorting of ['hierarchical', 'natural'] as const) {
    const db = new Db(sorting);
    await db.write({
      puts: [
        put('p1', 'v', { secondaryIndexes: { idx: 'a' } }),
        put('p2', 'v', { secondaryIndexes: { idx: 'a/b' } }),
        put('p3', 'v', { secondaryIndexes: { idx: 'a/c' } }),
        put('p4', 'v', { secondaryIndexes: { idx: 'b' } }),
        put('p5', 'v', { secondaryIndexes: { idx: 'a/b/c' } }),
      ],
    });
    const all = await db.list('', '', { secondaryIndexName: 'idx' });
    if (sorting === 'hierarchical') {
      assert.equal(all, ['p1', 'p4', 'p2', 'p3', 'p5']);
      assert.equal(await db.list('a/', 'a//', { secondaryIndexName: 'idx' }), ['p2', 'p3']);
      assert.equal(await db.list('a', 'b', { secondaryIndexName: 'idx' }), ['p1']);
    } else {
      assert.equal(all, ['p1', 'p2', 'p5', 'p3', 'p4']);
      assert.equal(await db.list('a', 'b', { secondaryIndexName: 'idx' }), ['p1', 'p2', 'p5', 'p3']);
    }
  }
});

test('a secondary key containing the separator or slashes still maps to its primary key', async () => {
  const db = new Db();
  await db.putOne('/primary/key with space', 'v', { secondaryIndexes: { idx: 'x\x01y/z' } });
  const r = await db.get('x\x01y/z', Cmp.EQUAL, 'idx');
  assert.is(r.key, '/primary/key with space');
  assert.is(r.secondaryIndexKey, 'x\x01y/z');
});

test('index entries are internal: hidden from lists unless asked for', async () => {
  const db = new Db();
  await db.putOne('/a', '1', { secondaryIndexes: { idx: 'x' } });
  assert.equal(await db.userKeys(), ['/a']);
  assert.ok((await db.allKeys()).includes('__oxia/idx/idx/x\x01%2Fa'));
});

test.run();
