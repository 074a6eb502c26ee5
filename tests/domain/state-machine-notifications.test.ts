import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { notificationTrimOps, readNotifications } from '../../src/domain/database/index.js';
import { NotificationBatch, NotificationType as T } from '../../src/domain/wire/client.js';
import { Db, collect, del, put } from './db-harness.js';

const brief = (b: NotificationBatch) => b.notifications.map((n) => [n.key, n.value!.type, n.value!.versionId, n.value!.keyRangeLast]);

test('one batch per entry with the entry offset, timestamp and shard (Oxia TestDB_Notifications)', async () => {
  const db = new Db('natural', true, 1n);
  db.nowMs = 10n;
  const e0 = await db.apply({ puts: [put('a', '0')] });
  assert.equal({ ...e0.notifications!, notifications: brief(e0.notifications!) }, {
    shard: 1n,
    offset: 0n,
    timestamp: 10n,
    notifications: [['a', T.KEY_CREATED, 0n, undefined]],
  });
  db.nowMs = 11n;
  const e1 = await db.apply({ puts: [put('a', '1')] });
  assert.equal(brief(e1.notifications!), [['a', T.KEY_MODIFIED, 1n, undefined]]);
  db.nowMs = 12n;
  await db.apply({ puts: [put('b', '0')] });
  const e3 = await db.apply({ puts: [put('c', '0'), put('d', '0')], deletes: [del('a')] });
  assert.equal(brief(e3.notifications!), [
    ['a', T.KEY_DELETED, undefined, undefined],
    ['c', T.KEY_CREATED, 3n, undefined],
    ['d', T.KEY_CREATED, 4n, undefined],
  ]);
  const e4 = await db.apply({ puts: [put('x1', '0'), put('x1', '1')] });
  assert.equal(brief(e4.notifications!), [['x1', T.KEY_MODIFIED, 6n, undefined]], 'the last operation on a key wins');

  const stored = await collect(readNotifications(db.kv, 0n));
  assert.equal(stored.map((b) => b.offset), [1n, 2n, 3n, 4n]);
  const bytes = (b: NotificationBatch | undefined) => Buffer.from(NotificationBatch.encode(b!).finish()).toString('hex');
  assert.is(bytes(stored[0]), bytes(e1.notifications), 'the stored batch is the reported one');
  assert.is(bytes(stored[3]), bytes(e4.notifications));
  assert.equal((await collect(readNotifications(db.kv, -1n))).map((b) => b.offset), [0n, 1n, 2n, 3n, 4n]);
  assert.equal(await collect(readNotifications(db.kv, 4n)), []);
});

test('a delete range gives one KEY_RANGE_DELETED under its start key (Oxia TestDB_NotificationsDeleteRange)', async () => {
  const db = new Db('natural');
  await db.apply({ puts: [put('a', '0'), put('b', '1'), put('c', '2')] });
  const r = await db.apply({ deleteRanges: [{ startInclusive: 'a', endExclusive: 'c' }] });
  assert.equal(brief(r.notifications!), [['a', T.KEY_RANGE_DELETED, undefined, 'c']]);
  const empty = await db.apply({ deleteRanges: [{ startInclusive: 'x', endExclusive: 'y' }] });
  assert.equal(brief(empty.notifications!), [['x', T.KEY_RANGE_DELETED, undefined, 'y']], 'reported even when nothing matched');
});

test('entries sort by key bytes (UTF-8), not UTF-16', async () => {
  const db = new Db('natural');
  const r = await db.apply({ puts: ['😀', '\uffff', 'b', 'a', 'é'].map((k) => put(k, 'v')) });
  assert.equal(r.notifications!.notifications.map((n) => n.key), ['a', 'b', 'é', '\uffff', '😀']);
});

test('no batch for entries that changed no user key; none at all when disabled', async () => {
  const db = new Db();
  await db.putOne('/k', 'v');
  const failed = await db.apply({ puts: [put('/k', 'v', { expectedVersionId: 99n })], deletes: [del('/none')] });
  assert.is(failed.notifications, undefined);
  const internal = await db.apply({ puts: [put('__oxia/a-test', 'v')] });
  assert.is(internal.notifications, undefined);
  assert.equal((await collect(readNotifications(db.kv, -1n))).map((b) => b.offset), [0n]);

  const off = new Db('hierarchical', false);
  const r = await off.apply({ puts: [put('/k', 'v')] });
  assert.is(r.notifications, undefined);
  assert.equal(await collect(readNotifications(off.kv, -1n)), []);
  assert.not.ok((await off.allKeys()).some((k) => k.startsWith('__oxia/notifications/')));
});

test('trim deletes the batches older than the cutoff, oldest first, in bounded steps', async () => {
  const db = new Db();
  for (let i = 0; i < 6; i++) {
    db.nowMs = BigInt(100 + i * 10);
    await db.putOne(`/k${i}`, 'v');
  }
  assert.equal(await notificationTrimOps(db.kv, 100n), []);
  const bounded = await notificationTrimOps(db.kv, 135n, 2);
  assert.is(bounded.length, 2);
  db.kv.write(bounded);
  assert.equal((await collect(readNotifications(db.kv, -1n))).map((b) => b.offset), [2n, 3n, 4n, 5n]);
  db.kv.write(await notificationTrimOps(db.kv, 135n));
  assert.equal((await collect(readNotifications(db.kv, -1n))).map((b) => b.offset), [4n, 5n]);
  db.kv.write(await notificationTrimOps(db.kv, 1_000n));
  assert.equal(await collect(readNotifications(db.kv, -1n)), []);
  assert.is((await db.get('/k5')).status, 0, 'records are untouched');
});

test.run();
