import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  readSessions,
  sessionDeleteRequest,
  sessionKey,
  sessionPutRequest,
} from '../../src/domain/database/index.js';
import { NotificationType, Status } from '../../src/domain/wire/client.js';
import { Db, del, put } from './db-harness.js';

/** Registers a session the way the leader does: its id is the entry's offset. */
async function openSession(db: Db, timeoutMs = 5_000, identity = 'client-1'): Promise<bigint> {
  const id = db.nextOffset;
  const applied = await db.apply({ puts: [sessionPutRequest(id, { timeoutMs, identity, owner: '' })] });
  assert.is(applied.responses[0]!.puts[0]!.status, Status.OK);
  assert.equal([...applied.sessionsCreated], [[id, { timeoutMs, identity, owner: '' }]]);
  return id;
}

const shadows = async (db: Db) =>
  (await db.allKeys()).filter((k) => k.startsWith('__oxia/session/') && k.split('/').length === 4);

test('a session record registers the session; readSessions lists it (not its shadows)', async () => {
  const db = new Db();
  const s1 = await openSession(db, 3_000, 'a');
  const s2 = await openSession(db, 9_000, 'b');
  await db.putOne('/e', 'v', { sessionId: s1 });
  const sessions = await readSessions(db.kv);
  assert.equal([...sessions].sort((x, y) => Number(x[0] - y[0])), [
    [s1, { timeoutMs: 3_000, identity: 'a', owner: '' }],
    [s2, { timeoutMs: 9_000, identity: 'b', owner: '' }],
  ]);
  assert.is(sessionKey(s2), `__oxia/session/${s2.toString(16).padStart(16, '0')}`);
});

test('a put in a session that does not exist fails and writes nothing', async () => {
  const db = new Db();
  await db.putOne('/x', 'v');
  const r = await db.putOne('/e', 'v', { sessionId: 42n });
  assert.equal(r, { status: Status.SESSION_DOES_NOT_EXIST });
  assert.is((await db.get('/e')).status, Status.KEY_NOT_FOUND);
  assert.equal(await shadows(db), []);
  assert.is((await db.putOne('/y', 'v')).version!.versionId, 1n, 'no version id consumed');
});

test('an ephemeral put records a shadow and the session in its version', async () => {
  const db = new Db();
  const s = await openSession(db);
  const r = await db.putOne('/eph/1', 'v', { sessionId: s, clientIdentity: 'client-1' });
  assert.is(r.version!.sessionId, s);
  assert.is(r.version!.clientIdentity, 'client-1');
  assert.equal(await shadows(db), [`${sessionKey(s)}/%2Feph%2F1`]);
  assert.is((await db.get('/eph/1')).version!.sessionId, s);
});

test('closing a session deletes the ephemeral records it still owns, with notifications', async () => {
  const db = new Db();
  const s = await openSession(db);
  const other = await openSession(db);
  await db.write({
    puts: [
      put('/e/1', 'v', { sessionId: s, secondaryIndexes: { idx: 'one' } }),
      put('/e/2 %?', 'v', { sessionId: s }),
      put('/e/moved', 'v', { sessionId: s }),
      put('/e/persisted', 'v', { sessionId: s }),
      put('/e/other', 'v', { sessionId: other }),
      put('/plain', 'v'),
    ],
  });
  await db.putOne('/e/moved', 'v2', { sessionId: other });
  await db.putOne('/e/persisted', 'v2');

  const closed = await db.apply({ deletes: [sessionDeleteRequest(s)] });
  assert.is(closed.responses[0]!.deletes[0]!.status, Status.OK);
  assert.equal(closed.sessionsRemoved, [s]);
  assert.equal(await db.userKeys(), ['/plain', '/e/moved', '/e/other', '/e/persisted']);
  assert.equal(await db.list('', '', { secondaryIndexName: 'idx' }), [], 'the record’s index entries went too');
  assert.equal(
    closed.notifications!.notifications.map((n) => [n.key, n.value!.type]),
    [
      ['/e/1', NotificationType.KEY_DELETED],
      ['/e/2 %?', NotificationType.KEY_DELETED],
    ],
  );
  assert.equal(await shadows(db), [`${sessionKey(other)}/%2Fe%2Fmoved`, `${sessionKey(other)}/%2Fe%2Fother`]);
  assert.equal([...(await readSessions(db.kv)).keys()], [other]);

  const again = await db.apply({ deletes: [sessionDeleteRequest(s)] });
  assert.is(again.responses[0]!.deletes[0]!.status, Status.KEY_NOT_FOUND, 'closing twice is harmless');
  assert.equal(again.sessionsRemoved, []);
});

test('deleting an ephemeral record (by key or range) removes its shadow', async () => {
  const db = new Db();
  const s = await openSession(db);
  await db.write({ puts: [put('/e/1', 'v', { sessionId: s }), put('/e/2', 'v', { sessionId: s })] });
  await db.write({ deletes: [del('/e/1')] });
  assert.equal(await shadows(db), [`${sessionKey(s)}/%2Fe%2F2`]);
  await db.write({ deleteRanges: [{ startInclusive: '/e/', endExclusive: '/e//' }] });
  assert.equal(await shadows(db), []);
  const closed = await db.apply({ deletes: [sessionDeleteRequest(s)] });
  assert.equal(closed.notifications?.notifications ?? [], [], 'nothing left to delete');
});

test('a session created and closed in one entry is reported removed only', async () => {
  const db = new Db();
  const id = db.nextOffset;
  const applied = await db.apply({ puts: [sessionPutRequest(id, { timeoutMs: 2_000, identity: '', owner: '' })] }, { deletes: [sessionDeleteRequest(id)] });
  assert.equal([...applied.sessionsCreated], []);
  assert.equal(applied.sessionsRemoved, [id]);
  assert.equal((await readSessions(db.kv)).size, 0);
});

test('an ephemeral put and its session close in one request: the put runs first, then the close removes it', async () => {
  const db = new Db();
  const s = await openSession(db);
  const applied = await db.apply({ puts: [put('/e', 'v', { sessionId: s })], deletes: [sessionDeleteRequest(s)] });
  assert.is(applied.responses[0]!.puts[0]!.status, Status.OK);
  assert.equal(await db.userKeys(), []);
  assert.equal(applied.notifications!.notifications.map((n) => [n.key, n.value!.type]), [['/e', NotificationType.KEY_DELETED]]);
});

test.run();
