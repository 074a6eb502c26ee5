import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AppliedEntry, DatabaseConfig, EntryToApply } from '../../src/domain/database/api.js';
import {
  MemoryKv,
  OverlayView,
  applyEntry,
  readCommitState,
  readEnabledFeatures,
  readTermOptions,
  termOps,
} from '../../src/domain/database/index.js';
import type { KvOp } from '../../src/domain/database/kv-view.js';
import { keyEncoder } from '../../src/domain/keys/key-encoder.js';
import { Status } from '../../src/domain/wire/client.js';
import { Feature } from '../../src/domain/wire/replication.js';
import { StorageEntry } from '../../src/domain/wire/storage.js';
import { Db, collect, del, put, requests } from './db-harness.js';

async function stored(db: Db, key: string): Promise<StorageEntry | undefined> {
  const raw = await db.kv.get(keyEncoder(db.config.keySorting).encode(key));
  return raw === undefined ? undefined : StorageEntry.decode(raw);
}

test('a put creates a record with version 0, no modifications, the entry timestamp', async () => {
  const db = new Db();
  db.nowMs = 5_000n;
  const r = await db.putOne('/a', 'v0');
  assert.is(r.status, Status.OK);
  assert.equal(r.version, { versionId: 0n, modificationsCount: 0n, createdTimestamp: 5_000n, modifiedTimestamp: 5_000n });
  assert.is(r.key, undefined, 'the key is only reported when the server chose it');
  assert.is(await db.value('/a'), 'v0');
});

test('updates advance the shard-wide version id and the record modifications count', async () => {
  const db = new Db();
  db.nowMs = 1n;
  await db.putOne('/a', 'v0');
  db.nowMs = 2n;
  await db.putOne('/b', 'v0');
  db.nowMs = 3n;
  const r = await db.putOne('/a', 'v1');
  assert.equal(r.version, { versionId: 2n, modificationsCount: 1n, createdTimestamp: 1n, modifiedTimestamp: 3n });
  // Three puts of one key in one request: versions 0, 1, 2 (Oxia TestDb_versionId).
  const db2 = new Db('natural');
  const res = await db2.write({ puts: [put('a', '0'), put('a', '1'), put('a', '2')] });
  assert.equal(res.puts.map((p) => [p.version!.versionId, p.version!.modificationsCount]), [[0n, 0n], [1n, 1n], [2n, 2n]]);
});

test('the version counter survives in the store (a new view continues it)', async () => {
  const db = new Db();
  await db.putOne('/a', '1');
  await db.putOne('/b', '1');
  const copy = new MemoryKv();
  copy.write((await collect(db.kv.range({}))).map((e) => ({ type: 'put' as const, key: e.key, value: e.value })));
  const applied = await applyEntry(copy, { offset: 2n, term: 1n, timestampMs: 9n, value: requests({ puts: [put('/c', '1')] }) }, db.config);
  assert.is(applied.responses[0]!.puts[0]!.version!.versionId, 2n);
});

test('conditional puts: -1 means "must not exist"; a mismatch changes nothing and uses no version', async () => {
  const db = new Db();
  assert.is((await db.putOne('/k', 'a', { expectedVersionId: -1n })).status, Status.OK);
  assert.is((await db.putOne('/k', 'b', { expectedVersionId: -1n })).status, Status.UNEXPECTED_VERSION_ID);
  assert.is((await db.putOne('/k', 'b', { expectedVersionId: 7n })).status, Status.UNEXPECTED_VERSION_ID);
  assert.is((await db.putOne('/missing', 'b', { expectedVersionId: 0n })).status, Status.UNEXPECTED_VERSION_ID);
  const ok = await db.putOne('/k', 'c', { expectedVersionId: 0n });
  assert.is(ok.status, Status.OK);
  assert.is(ok.version!.versionId, 1n, 'failed puts consumed no version id');
  assert.is(await db.value('/k'), 'c');
  assert.is((await db.get('/missing')).status, Status.KEY_NOT_FOUND);
  const failed = await db.putOne('/k', 'd', { expectedVersionId: 0n });
  assert.equal(failed, { status: Status.UNEXPECTED_VERSION_ID }, 'no version in a failed response');
});

test('same key mutated several times in one request sees its own writes (Oxia TestDBSameKeyMutations)', async () => {
  const db = new Db('natural');
  await db.putOne('k1', 'v0');
  const res = await db.write({
    puts: [put('k1', 'v1', { expectedVersionId: 0n }), put('k1', 'v2', { expectedVersionId: 0n })],
    deletes: [del('k1', 0n)],
  });
  assert.equal(res.puts.map((p) => p.status), [Status.OK, Status.UNEXPECTED_VERSION_ID]);
  assert.is(res.puts[0]!.version!.modificationsCount, 1n);
  assert.is(res.deletes[0]!.status, Status.UNEXPECTED_VERSION_ID);
  assert.is(await db.value('k1'), 'v1');
});

test('deletes: missing key, version checks, success', async () => {
  const db = new Db();
  await db.putOne('/a', '1');
  const res = await db.write({ deletes: [del('/missing'), del('/missing', -1n), del('/missing', 3n), del('/a', 9n), del('/a', -1n)] });
  assert.equal(res.deletes.map((d) => d.status), [
    Status.KEY_NOT_FOUND,
    Status.KEY_NOT_FOUND,
    Status.UNEXPECTED_VERSION_ID,
    Status.UNEXPECTED_VERSION_ID,
    Status.UNEXPECTED_VERSION_ID,
  ]);
  const ok = await db.write({ deletes: [del('/a', 0n), del('/a')] });
  assert.equal(ok.deletes.map((d) => d.status), [Status.OK, Status.KEY_NOT_FOUND]);
  assert.is((await db.get('/a')).status, Status.KEY_NOT_FOUND);
});

test('within a request: all puts, then all deletes, then all delete ranges', async () => {
  const db = new Db();
  const res = await db.write({
    deleteRanges: [{ startInclusive: '/r/', endExclusive: '/r//' }],
    deletes: [del('/d')],
    puts: [put('/d', 'x'), put('/r/1', 'x'), put('/keep', 'x')],
  });
  assert.is(res.deletes[0]!.status, Status.OK, 'the delete ran after the put of the same key');
  assert.equal(res.deleteRanges, [{ status: Status.OK }]);
  assert.equal(await db.userKeys(), ['/keep']);
});

test('delete range: [start, end) in hierarchical order deletes direct children only', async () => {
  const db = new Db();
  for (const k of ['/a', '/a/1', '/a/2', '/a/2/x', '/ab', '/b/1']) await db.putOne(k, 'v');
  await db.write({ deleteRanges: [{ startInclusive: '/a/', endExclusive: '/a//' }] });
  assert.equal(await db.userKeys(), ['/a', '/ab', '/a/2/x', '/b/1'].sort(keyEncoder('hierarchical').compare.bind(keyEncoder('hierarchical'))));
});

test('delete range: natural order; an empty end reaches the last user key; internal keys survive', async () => {
  const db = new Db('natural');
  for (const k of ['a', 'b', 'b/x', 'c', 'd', '__oxia/a-test']) await db.putOne(k, 'v');
  await db.write({ deleteRanges: [{ startInclusive: 'b', endExclusive: 'c' }] });
  assert.equal(await db.userKeys(), ['a', 'c', 'd']);
  const internalBefore = (await db.allKeys()).filter((k) => k.startsWith('__oxia/'));
  await db.write({ deleteRanges: [{ startInclusive: 'c', endExclusive: '' }] });
  assert.equal(await db.userKeys(), ['a']);
  const internalAfter = (await db.allKeys()).filter((k) => k.startsWith('__oxia/'));
  assert.ok(internalAfter.includes('__oxia/a-test'), 'an empty end stops at the user keys');
  assert.ok(internalAfter.includes('__oxia/commit-offset'));
  assert.ok(internalBefore.length > 0);
});

test('delete range across the internal region removes client internal keys but never the shard’s own', async () => {
  const db = new Db();
  await db.putOne('/a', 'v');
  await db.putOne('__oxia/a-test', 'v');
  await db.putOne('/e', 'v', { sessionId: (await createSession(db)).id });
  const before = await db.allKeys();
  await db.write({ deleteRanges: [{ startInclusive: '', endExclusive: '__oxia/zzzz' }] });
  const after = await db.allKeys();
  assert.equal(await db.userKeys(), []);
  assert.not.ok(after.includes('__oxia/a-test'));
  for (const k of before.filter((k) => k.startsWith('__oxia/session/') && !k.includes('/', '__oxia/session/'.length))) {
    assert.ok(after.includes(k), `session record ${k} kept`);
  }
  assert.ok(after.includes('__oxia/commit-offset'));
  assert.is(after.filter((k) => k.startsWith('__oxia/session/') && k.split('/').length > 3).length, 0, 'the shadow went with its record');
});

test('an inverted delete range deletes nothing', async () => {
  const db = new Db();
  await db.putOne('/a', 'v');
  await db.putOne('/b', 'v');
  const res = await db.write({ deleteRanges: [{ startInclusive: '/b', endExclusive: '/a' }] });
  assert.equal(res.deleteRanges, [{ status: Status.OK }]);
  assert.equal(await db.userKeys(), ['/a', '/b']);
});

test('records are StorageEntry protobufs with session, identity and partition key', async () => {
  const db = new Db();
  const session = await createSession(db);
  db.nowMs = 77n;
  const r = await db.putOne('/k', 'value', { sessionId: session.id, clientIdentity: 'me', partitionKey: 'p' });
  assert.equal(r.version, {
    versionId: r.version!.versionId,
    modificationsCount: 0n,
    createdTimestamp: 77n,
    modifiedTimestamp: 77n,
    sessionId: session.id,
    clientIdentity: 'me',
  });
  const se = (await stored(db, '/k'))!;
  assert.is(Buffer.from(se.value).toString(), 'value');
  assert.is(se.sessionId, session.id);
  assert.is(se.clientIdentity, 'me');
  assert.is(se.partitionKey, 'p');
  assert.is(se.creationTimestamp, 77n);
  // An update without them clears them.
  await db.putOne('/k', 'v2');
  const se2 = (await stored(db, '/k'))!;
  assert.is(se2.sessionId, undefined);
  assert.is(se2.clientIdentity, undefined);
  assert.is(se2.partitionKey, undefined);
});

test('override version id and modifications count (Oxia TestDB_OverrideVersionId)', async () => {
  const db = new Db('natural');
  const r0 = await db.putOne('a', 'v0', { overrideVersionId: 100n, overrideModificationsCount: 5n });
  assert.equal([r0.version!.versionId, r0.version!.modificationsCount], [100n, 5n]);
  assert.is((await db.putOne('b', 'v1')).version!.versionId, 0n, 'the counter is not moved by overrides');
  const r2 = await db.putOne('a', 'v2', { expectedVersionId: 100n });
  assert.equal([r2.version!.versionId, r2.version!.modificationsCount], [1n, 6n]);
  const r3 = await db.putOne('c', 'v3', { overrideVersionId: 200n });
  assert.equal([r3.version!.versionId, r3.version!.modificationsCount], [200n, 0n]);
});

test('a failing WriteRequest changes nothing; the other requests of the entry apply', async () => {
  const db = new Db();
  await db.putOne('/seq', 'x', { partitionKey: 'p', sequenceKeyDelta: [1n, 1n] });
  const applied = await db.apply(
    { puts: [put('/first', 'x')] },
    { puts: [put('/doomed', 'x'), put('/seq', 'x', { partitionKey: 'p', sequenceKeyDelta: [1n] })] },
    { puts: [put('/after', 'x')] },
  );
  assert.is(applied.errors[0], undefined);
  assert.is(applied.errors[1]?.kind, 'InvalidArgument');
  assert.match(applied.errors[1]!.message, /delta/);
  assert.equal(applied.responses[1], { puts: [], deletes: [], deleteRanges: [] });
  assert.is(applied.errors[2], undefined);
  assert.is(applied.responses[0]!.puts[0]!.version!.versionId, 1n);
  assert.is(applied.responses[2]!.puts[0]!.version!.versionId, 2n, 'versions used by the failed request are not consumed');
  assert.equal(await db.userKeys(), ['/after', '/first', '/seq-00000000000000000001-00000000000000000001']);
  assert.equal(applied.notifications!.notifications.map((n) => n.key), ['/after', '/first']);
});

test('an entry of one failing WriteRequest changes nothing but the commit offset', async () => {
  const db = new Db();
  await db.putOne('/seq', 'x', { partitionKey: 'p', sequenceKeyDelta: [1n, 1n] });
  const before = (await readCommitState(db.kv)).commitOffset;
  const applied = await db.apply({ puts: [put('/doomed', 'x'), put('/seq', 'x', { partitionKey: 'p', sequenceKeyDelta: [1n] })] });
  assert.is(applied.errors[0]?.kind, 'InvalidArgument');
  assert.equal(applied.responses[0], { puts: [], deletes: [], deleteRanges: [] });
  assert.equal(await db.userKeys(), ['/seq-00000000000000000001-00000000000000000001'], 'the put staged before the failure is gone');
  assert.is(applied.notifications, undefined);
  assert.is((await readCommitState(db.kv)).commitOffset, before + 1n);
  const next = await db.apply({ puts: [put('/after', 'x')] });
  assert.is(next.responses[0]!.puts[0]!.version!.versionId, 1n, 'the failed request consumed no version');
});

test('the commit offset is written by every entry, data or control', async () => {
  const db = new Db();
  assert.equal(await readCommitState(db.kv), { commitOffset: -1n, term: -1n });
  await db.putOne('/a', '1');
  assert.is((await readCommitState(db.kv)).commitOffset, 0n);
  await db.applyValue({ value: { $case: 'controlRequest', value: { value: { $case: 'featureEnable', value: { features: [Feature.FEATURE_DB_CHECKSUM] } } } } });
  assert.is((await readCommitState(db.kv)).commitOffset, 1n);
  assert.equal([...(await readEnabledFeatures(db.kv))], [Feature.FEATURE_DB_CHECKSUM]);
  await db.applyValue({ value: { $case: 'controlRequest', value: { value: { $case: 'recordChecksum', value: {} } } } });
  const empty = await db.applyValue({});
  assert.equal(empty.responses, []);
  assert.is((await readCommitState(db.kv)).commitOffset, 3n);
  assert.is((await db.putOne('/b', '1')).version!.versionId, 1n, 'control entries use no version ids');
});

test('term and NewTerm options are persisted like Oxia (ASCII term, Go JSON options)', async () => {
  const kv = new MemoryKv();
  kv.write(termOps(4n, { notificationsEnabled: true, keySorting: 'hierarchical' }));
  assert.equal(await readCommitState(kv), { commitOffset: -1n, term: 4n });
  assert.equal(await readTermOptions(kv), { notificationsEnabled: true, keySorting: 'hierarchical' });
  const raw = StorageEntry.decode((await kv.get(keyEncoder('natural').encode('__oxia/term-options')))!);
  assert.is(Buffer.from(raw.value).toString(), '{"NotificationsEnabled":true,"KeySorting":2}');
  assert.is(Buffer.from(StorageEntry.decode((await kv.get(keyEncoder('natural').encode('__oxia/term')))!).value).toString(), '4');
  kv.write(termOps(5n));
  assert.is((await readCommitState(kv)).term, 5n);
  assert.equal(await readTermOptions(kv), { notificationsEnabled: true, keySorting: 'hierarchical' }, 'options kept');
});

// ---- determinism and batching through an overlay --------------------------------------------

function workload(): EntryToApply[] {
  const entries: Array<EntryToApply['value']> = [
    requests({ puts: [put('__oxia/session/0000000000000000', Buffer.from([8, 0xd0, 0x0f]))] }),
    requests({ puts: [put('/a', '1', { secondaryIndexes: { i: 'x' } }), put('/b', '1', { sessionId: 0n }), put('/s', 'x', { partitionKey: 'p', sequenceKeyDelta: [3n] })] }),
    requests({ puts: [put('/a', '2', { expectedVersionId: 1n }), put('/c', '3')], deletes: [del('/nope')] }),
    requests({ puts: [put('/a', '3', { expectedVersionId: 1n })], deleteRanges: [{ startInclusive: '/c', endExclusive: '/d' }] }),
    requests({ deletes: [del('__oxia/session/0000000000000000')] }),
    requests({ puts: [put('/s', 'x', { partitionKey: 'p', sequenceKeyDelta: [1n] })] }),
  ];
  return entries.map((value, i) => ({ offset: BigInt(i), term: 1n, timestampMs: 100n + BigInt(i), value }));
}

const opsText = (ops: readonly KvOp[]) =>
  ops.map((op) => `${op.type}:${Buffer.from(op.key).toString('hex')}:${op.type === 'put' ? Buffer.from(op.value).toString('hex') : ''}`);

async function applyAll(config: DatabaseConfig): Promise<{ kv: MemoryKv; applied: AppliedEntry[] }> {
  const kv = new MemoryKv();
  const applied: AppliedEntry[] = [];
  for (const e of workload()) {
    const a = await applyEntry(kv, e, config);
    kv.write(a.ops);
    applied.push(a);
  }
  return { kv, applied };
}

test('determinism: the same entries give byte-identical ops and responses', async () => {
  const config: DatabaseConfig = { keySorting: 'hierarchical', notificationsEnabled: true, shard: 1n };
  const one = await applyAll(config);
  const two = await applyAll(config);
  assert.equal(one.applied.map((a) => opsText(a.ops)), two.applied.map((a) => opsText(a.ops)));
  assert.equal(one.applied.map((a) => a.responses), two.applied.map((a) => a.responses));
  assert.is(one.applied[3]!.responses[0]!.puts[0]!.status, Status.UNEXPECTED_VERSION_ID);
  assert.is(one.applied[2]!.responses[0]!.puts[0]!.status, Status.OK);
});

test('several entries applied through one OverlayView and written as one batch = applied one by one', async () => {
  const config: DatabaseConfig = { keySorting: 'hierarchical', notificationsEnabled: true, shard: 1n };
  const sequential = await applyAll(config);

  const kv = new MemoryKv();
  const overlay = new OverlayView(kv);
  const batched: AppliedEntry[] = [];
  for (const e of workload()) {
    const a = await applyEntry(overlay, e, config);
    overlay.write(a.ops);
    batched.push(a);
  }
  assert.is(kv.size, 0, 'nothing reaches the store before the batch');
  kv.write(overlay.pendingOps());

  assert.equal(batched.map((a) => a.responses), sequential.applied.map((a) => a.responses));
  assert.equal(batched.map((a) => opsText(a.ops)), sequential.applied.map((a) => opsText(a.ops)));
  const dump = async (m: MemoryKv) => (await collect(m.range({}))).map((e) => Buffer.from(e.key).toString('hex') + '=' + Buffer.from(e.value).toString('hex'));
  assert.equal(await dump(kv), await dump(sequential.kv));
  assert.is((await readCommitState(kv)).commitOffset, 5n);
});

async function createSession(db: Db): Promise<{ id: bigint }> {
  const id = db.nextOffset;
  await db.putOne(`__oxia/session/${id.toString(16).padStart(16, '0')}`, '');
  return { id };
}

test.run();
