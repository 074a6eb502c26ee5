import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { get, getNow } from '../../src/domain/database/index.js';
import { KeyComparisonType as Cmp, NotificationBatch, Status } from '../../src/domain/wire/client.js';
import { Db, put } from './db-harness.js';

const text = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString());

for (const sorting of ['hierarchical', 'natural'] as const) {
  test(`${sorting}: EQUAL / FLOOR / CEILING / LOWER / HIGHER (official client expectations)`, async () => {
    const db = new Db(sorting);
    const prefix = '/test-1';
    await db.write({ puts: ['/a', '/c', '/d', '/e', '/g'].map((s, i) => put(prefix + s, String([0, 2, 3, 4, 6][i]))) });
    const at = async (s: string, cmp: Cmp) => {
      const r = await db.get(prefix + s, cmp);
      return r.status === Status.OK ? [r.key, text(r.value)] : 'not found';
    };
    assert.equal(await at('/a', Cmp.EQUAL), [undefined, '0'], 'EQUAL does not repeat the key');
    assert.is(await at('/b', Cmp.EQUAL), 'not found');
    assert.equal(await at('/a', Cmp.FLOOR), [`${prefix}/a`, '0']);
    assert.equal(await at('/b', Cmp.FLOOR), [`${prefix}/a`, '0']);
    assert.equal(await at('/f', Cmp.FLOOR), [`${prefix}/e`, '4']);
    assert.equal(await at('/a', Cmp.CEILING), [`${prefix}/a`, '0']);
    assert.equal(await at('/b', Cmp.CEILING), [`${prefix}/c`, '2']);
    assert.equal(await at('/f', Cmp.CEILING), [`${prefix}/g`, '6']);
    assert.is(await at('/a', Cmp.LOWER), 'not found');
    assert.equal(await at('/b', Cmp.LOWER), [`${prefix}/a`, '0']);
    assert.equal(await at('/c', Cmp.LOWER), [`${prefix}/a`, '0']);
    assert.equal(await at('/f', Cmp.LOWER), [`${prefix}/e`, '4']);
    assert.equal(await at('/a', Cmp.HIGHER), [`${prefix}/c`, '2']);
    assert.equal(await at('/b', Cmp.HIGHER), [`${prefix}/c`, '2']);
    assert.equal(await at('/e', Cmp.HIGHER), [`${prefix}/g`, '6']);
    assert.equal(await at('/f', Cmp.HIGHER), [`${prefix}/g`, '6']);
    assert.is(await at('/g', Cmp.HIGHER), 'not found');
  });
}

test('getNow answers point reads as get does, and declines what only get can answer', async () => {
  for (const sorting of ['hierarchical', 'natural'] as const) {
    const db = new Db(sorting);
    await db.write({ puts: ['/a', '/a/b', 'c'].map((k) => put(k, `v${k}`)) });
    const eq = (key: string, includeValue = true) => ({ key, includeValue, comparisonType: Cmp.EQUAL });
    for (const request of [eq('/a'), eq('/a/b'), eq('c'), eq('/missing'), eq('/a', false), eq('__oxia/commit-offset'), eq('')]) {
      assert.equal(getNow(db.kv, request, db.config), await get(db.kv, request, db.config), `${sorting} ${JSON.stringify(request)}`);
    }
    assert.is(getNow(db.kv, { ...eq('/a'), comparisonType: Cmp.FLOOR }, db.config), undefined, 'FLOOR needs a range read');
    assert.is(getNow(db.kv, { ...eq('/a'), secondaryIndexName: 'idx' }, db.config), undefined, 'index lookups need a range read');
    const asyncOnly = { get: (k: Uint8Array) => db.kv.get(k), range: (r: Parameters<typeof db.kv.range>[0]) => db.kv.range(r) };
    assert.is(getNow(asyncOnly, eq('/a'), db.config), undefined, 'a view without getNow');
  }
});

test('hierarchical neighbours are found level by level', async () => {
  const db = new Db('hierarchical');
  await db.write({ puts: ['/a', '/b', '/a/x', '/a/y'].map((k) => put(k, k)) });
  assert.is((await db.get('/c', Cmp.CEILING)).key, '/a/x', 'after the last key of level 1 comes level 2');
  assert.is((await db.get('/a/a', Cmp.LOWER)).key, '/b');
  assert.is((await db.get('/a/', Cmp.CEILING)).key, '/a/x');
  const natural = new Db('natural');
  await natural.write({ puts: ['/a', '/b', '/a/x', '/a/y'].map((k) => put(k, k)) });
  assert.is((await natural.get('/c', Cmp.CEILING)).status, Status.KEY_NOT_FOUND);
  assert.is((await natural.get('/a/a', Cmp.LOWER)).key, '/a');
});

test('gets never return the shard’s internal records; nearest-key gets skip all internal keys', async () => {
  const db = new Db();
  await db.write({ puts: [put('a', '1'), put('b', '2'), put('__oxia/a-test', 'x')] });
  assert.is((await db.get('__oxia/commit-offset')).status, Status.KEY_NOT_FOUND);
  assert.is((await db.get('__oxia/last-version-id')).status, Status.KEY_NOT_FOUND);
  assert.is(text((await db.get('__oxia/a-test')).value), 'x', 'a client’s own internal key reads back by EQUAL');
  assert.is((await db.get('b', Cmp.HIGHER)).status, Status.KEY_NOT_FOUND);
  assert.is((await db.get('__oxia/', Cmp.CEILING)).status, Status.KEY_NOT_FOUND);
  assert.is((await db.get('__oxia/zzz', Cmp.FLOOR)).key, 'b');
  assert.is((await db.get('__oxia/a-test', Cmp.FLOOR)).key, 'b');
  assert.is((await db.get('__oxia/zzz', Cmp.LOWER)).key, 'b');
});

test('include_value false returns the version without the value', async () => {
  const db = new Db();
  await db.putOne('/k', 'value');
  for (const comparisonType of [Cmp.EQUAL, Cmp.FLOOR]) {
    const r = await get(db.kv, { key: '/k', includeValue: false, comparisonType }, db.config);
    assert.is(r.status, Status.OK);
    assert.is(r.value, undefined);
    assert.is(r.version!.versionId, 0n);
  }
});

test('an unknown comparison type is an InvalidArgument', async () => {
  const db = new Db();
  try {
    await get(db.kv, { key: '/k', includeValue: true, comparisonType: 9 as Cmp }, db.config);
    assert.unreachable();
  } catch (e) {
    assert.is((e as { kind?: string }).kind, 'InvalidArgument');
  }
});

test('list: [start, end) in namespace order; empty end is unbounded; internal keys on request (Oxia TestSyncClientImpl_InternalKeys)', async () => {
  for (const sorting of ['hierarchical', 'natural'] as const) {
    const db = new Db(sorting);
    await db.write({ puts: ['a', 'b', 'c', '__oxia/a-test'].map((k) => put(k, '')) });
    assert.equal(await db.list('a', ''), ['a', 'b', 'c']);
    assert.equal(await db.list('a', '__oxia/a-test---', { includeInternalKeys: true }), ['a', 'b', 'c', '__oxia/a-test']);
    assert.equal(await db.list('b', 'c'), ['b']);
    assert.equal(await db.list('', 'b'), ['a']);
    const scanned = await db.scan('a', '', { includeInternalKeys: true });
    assert.equal(scanned.slice(0, 4).map((r) => r.key), ['a', 'b', 'c', '__oxia/a-test']);
    assert.ok(scanned.length > 4, 'system keys follow');
    for (const r of scanned.slice(4)) assert.ok(r.key!.startsWith('__oxia/'), r.key);
  }
});

test('list in hierarchical order lists one level; natural lists the subtree', async () => {
  const keys = ['/a', '/a/b', '/a/b/c', '/a/d', '/b'];
  const h = new Db('hierarchical');
  await h.write({ puts: keys.map((k) => put(k, '')) });
  assert.equal(await h.list('/a/', '/a//'), ['/a/b', '/a/d']);
  assert.equal(await h.list('/', '/~'), ['/a', '/b']);
  const n = new Db('natural');
  await n.write({ puts: keys.map((k) => put(k, '')) });
  assert.equal(await n.list('/a/', '/a0'), ['/a/b', '/a/b/c', '/a/d']);
});

test('range scan returns key, value and version; internal non-records come back raw', async () => {
  const db = new Db();
  db.nowMs = 50n;
  await db.write({ puts: [put('/x', 'vx', { clientIdentity: 'id' }), put('/y', 'vy')] });
  const records = await db.scan('/', '/~');
  assert.equal(
    records.map((r) => [r.status, r.key, text(r.value), r.version!.versionId, r.version!.createdTimestamp, r.version!.clientIdentity]),
    [
      [Status.OK, '/x', 'vx', 0n, 50n, 'id'],
      [Status.OK, '/y', 'vy', 1n, 50n, undefined],
    ],
  );
  const internal = await db.scan('__oxia/', '', { includeInternalKeys: true });
  const batch = internal.find((r) => r.key!.startsWith('__oxia/notifications/'))!;
  assert.is(NotificationBatch.decode(batch.value!).offset, 0n);
  const commit = internal.find((r) => r.key === '__oxia/commit-offset')!;
  assert.is(text(commit.value), '0');
  assert.is(commit.version!.versionId, -1n);
});

test.run();
