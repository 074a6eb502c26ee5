// Every semantic of the data API, checked over gRPC against a real `oxia-ts standalone`
// child process with a client built only from Oxia's protocol (tests/support/raw-client.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { KeyComparisonType, NotificationType, Status } from '../../src/domain/wire/client.js';
import { RawOxiaClient, errorInfo, expectGrpcError, type ShardInfo } from '../support/raw-client.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { waitFor } from '../support/wait.js';

const enc = (s: string) => Buffer.from(s);
const dec = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString() : undefined);

export function dataApiSuite(kv: 'sqlite' | 'level', shardCount: number): void {
  const S = suite(`data API, --kv ${kv}, --shards ${shardCount}`);
  let server: StandaloneProcess;
  let c: RawOxiaClient;
  let shards: ShardInfo[];
  let n = 0;
  /** A fresh key prefix per test, so tests do not see each other's records. */
  const fresh = () => `/t${++n}`;
  const at = (key: string) => RawOxiaClient.shardFor(shards, key);

  S.before(async () => {
    server = await startStandalone({ shards: shardCount, kv });
    c = new RawOxiaClient(server.address);
    shards = await c.shards();
  });
  S.after(async () => {
    c?.close();
    await server?.stop();
  });

  S('assignments: N shards, inclusive ranges covering the hash space, this server as leader', async () => {
    assert.is(shards.length, shardCount);
    assert.is(shards[0]?.min, 0);
    assert.is(shards[shards.length - 1]?.max, 4294967295);
    for (let i = 1; i < shards.length; i++) assert.is(shards[i]?.min, (shards[i - 1]?.max ?? 0) + 1);
    for (const s of shards) assert.is(s.leader, server.address);
  });

  S('put creates a record; get returns value and version', async () => {
    const k = `${fresh()}/a`;
    const w = await c.put(at(k), { key: k, value: enc('v1') });
    const put = w.puts[0];
    assert.is(put?.status, Status.OK);
    assert.is(put?.version?.modificationsCount, 0n);
    assert.ok((put?.version?.createdTimestamp ?? 0n) > 0n);
    const g = await c.get(at(k), k);
    assert.is(g.status, Status.OK);
    assert.is(dec(g.value), 'v1');
    assert.equal(g.version, put?.version);
  });

  S('an update keeps the creation time and counts modifications', async () => {
    const k = `${fresh()}/a`;
    const v1 = (await c.put(at(k), { key: k, value: enc('1') })).puts[0]?.version;
    const v2 = (await c.put(at(k), { key: k, value: enc('2') })).puts[0]?.version;
    assert.ok(v1 && v2);
    assert.ok(v2.versionId > v1.versionId, 'version id grows');
    assert.is(v2.modificationsCount, 1n);
    assert.is(v2.createdTimestamp, v1.createdTimestamp);
    assert.ok(v2.modifiedTimestamp >= v1.modifiedTimestamp);
  });

  S('conditional put: expected version, and -1 for "must not exist"', async () => {
    const k = `${fresh()}/a`;
    assert.is((await c.put(at(k), { key: k, value: enc('x'), expectedVersionId: -1n })).puts[0]?.status, Status.OK);
    assert.is((await c.put(at(k), { key: k, value: enc('y'), expectedVersionId: -1n })).puts[0]?.status, Status.UNEXPECTED_VERSION_ID);
    const current = (await c.get(at(k), k)).version?.versionId ?? -99n;
    assert.is((await c.put(at(k), { key: k, value: enc('z'), expectedVersionId: current + 1000n })).puts[0]?.status, Status.UNEXPECTED_VERSION_ID);
    assert.is((await c.put(at(k), { key: k, value: enc('z'), expectedVersionId: current })).puts[0]?.status, Status.OK);
    assert.is(dec((await c.get(at(k), k)).value), 'z');
  });

  S('delete: missing key, wrong version, success', async () => {
    const k = `${fresh()}/a`;
    assert.is((await c.del(at(k), { key: k })).deletes[0]?.status, Status.KEY_NOT_FOUND);
    const v = (await c.put(at(k), { key: k, value: enc('x') })).puts[0]?.version?.versionId ?? 0n;
    assert.is((await c.del(at(k), { key: k, expectedVersionId: v + 7n })).deletes[0]?.status, Status.UNEXPECTED_VERSION_ID);
    assert.is((await c.del(at(k), { key: k, expectedVersionId: v })).deletes[0]?.status, Status.OK);
    assert.is((await c.get(at(k), k)).status, Status.KEY_NOT_FOUND);
  });

  S('get comparisons: floor, ceiling, lower, higher within a shard', async () => {
    const p = fresh();
    const pk = `${p}-pk`;
    const s = at(pk);
    for (const k of ['b', 'd', 'f']) await c.put(s, { key: `${p}/${k}`, value: enc(k), partitionKey: pk });
    const found = async (key: string, cmp: KeyComparisonType) => {
      const r = await c.get(s, `${p}/${key}`, cmp);
      return r.status === Status.OK ? r.key : undefined;
    };
    assert.is(await found('d', KeyComparisonType.FLOOR), `${p}/d`);
    assert.is(await found('e', KeyComparisonType.FLOOR), `${p}/d`);
    assert.is(await found('e', KeyComparisonType.CEILING), `${p}/f`);
    assert.is(await found('d', KeyComparisonType.LOWER), `${p}/b`);
    assert.is(await found('d', KeyComparisonType.HIGHER), `${p}/f`);
    assert.is(await found('c', KeyComparisonType.EQUAL), undefined);
  });

  S('list and range scan in hierarchical order: direct children only', async () => {
    const p = fresh();
    const pk = `${p}-pk`;
    const s = at(pk);
    for (const k of ['/a', '/a/b', '/a/c', '/a/b/d', '/b']) await c.put(s, { key: p + k, value: enc(k), partitionKey: pk });
    assert.equal(await c.list(s, `${p}/a/`, `${p}/a//`), [`${p}/a/b`, `${p}/a/c`]);
    const scanned = await c.rangeScan(s, `${p}/a/`, `${p}/a//`);
    assert.equal(scanned.map((r) => [r.key, dec(r.value)]), [[`${p}/a/b`, '/a/b'], [`${p}/a/c`, '/a/c']]);
  });

  S('delete range removes [start, end) only', async () => {
    const p = fresh();
    const pk = `${p}-pk`;
    const s = at(pk);
    for (const k of ['1', '2', '3', '4']) await c.put(s, { key: `${p}/${k}`, value: enc(k), partitionKey: pk });
    assert.is((await c.deleteRange(s, `${p}/2`, `${p}/4`)).deleteRanges[0]?.status, Status.OK);
    assert.equal(await c.list(s, `${p}/`, `${p}//`), [`${p}/1`, `${p}/4`]);
  });

  S('partition keys: records stored on the partition key shard, returned under their own key', async () => {
    const p = fresh();
    const pk = `${p}-group`;
    const keys = [`${p}/x`, `${p}/y`, `${p}/z`];
    for (const k of keys) assert.is((await c.put(at(pk), { key: k, value: enc(k), partitionKey: pk })).puts[0]?.status, Status.OK);
    assert.equal(await c.list(at(pk), `${p}/`, `${p}//`), keys);
  });

  S('sequence keys: server-assigned %020d suffixes and GetSequenceUpdates', async () => {
    const p = fresh();
    const pk = `${p}-seq`;
    const s = at(pk);
    const updates = c.sequenceUpdates(s, `${p}/q`);
    const r1 = await c.put(s, { key: `${p}/q`, value: enc('a'), partitionKey: pk, sequenceKeyDelta: [1n] });
    const r2 = await c.put(s, { key: `${p}/q`, value: enc('b'), partitionKey: pk, sequenceKeyDelta: [5n] });
    assert.is(r1.puts[0]?.key, `${p}/q-${'1'.padStart(20, '0')}`);
    assert.is(r2.puts[0]?.key, `${p}/q-${'6'.padStart(20, '0')}`);
    await waitFor(async () => {
      return updates.pending > 0 && (await updates.take(updates.pending)).some((u) => u.highestSequenceKey === r2.puts[0]?.key);
    }, 'the sequence update for the second key');
    updates.cancel();
    const noPk = await c.put(s, { key: `${p}/q`, value: enc('c'), sequenceKeyDelta: [1n] }).catch((e) => e as grpc.ServiceError);
    assert.ok('code' in noPk ? noPk.code === grpc.status.INVALID_ARGUMENT : false, 'a sequence key without partition key is rejected');
  });

  S('secondary indexes: list, scan and get by index', async () => {
    const p = fresh();
    const pk = `${p}-idx`;
    const s = at(pk);
    const idx = (v: string) => [{ indexName: 'by-name', secondaryKey: v }];
    await c.put(s, { key: `${p}/1`, value: enc('one'), partitionKey: pk, secondaryIndexes: idx('bob') });
    await c.put(s, { key: `${p}/2`, value: enc('two'), partitionKey: pk, secondaryIndexes: idx('alice') });
    await c.put(s, { key: `${p}/3`, value: enc('three'), partitionKey: pk, secondaryIndexes: idx('carol') });
    assert.equal(await c.list(s, 'a', 'c', { secondaryIndexName: 'by-name' }), [`${p}/2`, `${p}/1`]);
    const scanned = await c.rangeScan(s, 'b', 'd', { secondaryIndexName: 'by-name' });
    assert.equal(scanned.map((r) => dec(r.value)), ['one', 'three']);
    const g = await c.get(s, 'alice', KeyComparisonType.EQUAL, { secondaryIndexName: 'by-name' });
    assert.is(g.status, Status.OK);
    assert.is(g.key, `${p}/2`);
    assert.is(dec(g.value), 'two');
    // Replacing the record's index entry removes the old one.
    await c.put(s, { key: `${p}/2`, value: enc('two'), partitionKey: pk, secondaryIndexes: idx('zed') });
    assert.equal(await c.list(s, 'a', 'c', { secondaryIndexName: 'by-name' }), [`${p}/1`]);
  });

  S('sessions: ephemeral records live with their session', async () => {
    const k = `${fresh()}/lock`;
    const s = at(k);
    const id = await c.createSession(s, 5_000, 'me');
    const put = await c.put(s, { key: k, value: enc('held'), sessionId: id, clientIdentity: 'me' });
    assert.is(put.puts[0]?.status, Status.OK);
    assert.is(put.puts[0]?.version?.sessionId, id);
    assert.is(put.puts[0]?.version?.clientIdentity, 'me');
    await c.keepAlive(s, id);
    await c.closeSession(s, id);
    assert.is((await c.get(s, k)).status, Status.KEY_NOT_FOUND, 'closing the session deleted the record');
    const bad = await c.put(s, { key: k, value: enc('x'), sessionId: id });
    assert.is(bad.puts[0]?.status, Status.SESSION_DOES_NOT_EXIST);
    const err = await expectGrpcError(c.keepAlive(s, id), grpc.status.NOT_FOUND);
    assert.is(errorInfo(err)?.reason, 'SESSION_NOT_FOUND');
  });

  S('sessions: a session without heartbeats expires and takes its records', async () => {
    const k = `${fresh()}/eph`;
    const s = at(k);
    const id = await c.createSession(s, 2_000);
    await c.put(s, { key: k, value: enc('x'), sessionId: id });
    await waitFor(async () => (await c.get(s, k)).status === Status.KEY_NOT_FOUND, 'the ephemeral record to vanish', 20_000);
  });

  S('sessions: invalid timeouts are rejected with INVALID_SESSION_TIMEOUT', async () => {
    for (const ms of [0, 1_999, 300_001]) {
      const err = await expectGrpcError(c.createSession(shards[0]!.shard, ms), grpc.status.INVALID_ARGUMENT, /timeout/);
      assert.is(errorInfo(err)?.reason, 'INVALID_SESSION_TIMEOUT');
    }
  });

  S('notifications: created, modified, deleted, range deleted', async () => {
    const p = fresh();
    const pk = `${p}-n`;
    const s = at(pk);
    const stream = c.notifications(s);
    // The stream starts from "now": write markers until one shows up, then a last, distinct
    // marker, and drain up to it, so that only the writes below follow.
    await waitFor(async () => {
      await c.put(s, { key: `${p}/marker`, value: enc('m'), partitionKey: pk });
      return stream.pending > 0;
    }, 'the notification stream to deliver');
    await c.put(s, { key: `${p}/synced`, value: enc('s'), partitionKey: pk });
    for (let synced = false; !synced; ) {
      for (const b of await stream.take(1)) synced = b.notifications.some((n) => n.key === `${p}/synced`);
    }
    await c.put(s, { key: `${p}/k`, value: enc('1'), partitionKey: pk });
    await c.put(s, { key: `${p}/k`, value: enc('2'), partitionKey: pk });
    await c.del(s, { key: `${p}/k`, partitionKey: pk });
    await c.deleteRange(s, `${p}/a`, `${p}/z`);
    const batches = await stream.take(4);
    const seen = batches.map((b) => b.notifications.map((n) => [n.key, n.value?.type]));
    assert.equal(seen.slice(0, 3), [
      [[`${p}/k`, NotificationType.KEY_CREATED]],
      [[`${p}/k`, NotificationType.KEY_MODIFIED]],
      [[`${p}/k`, NotificationType.KEY_DELETED]],
    ]);
    const range = batches[3]?.notifications[0];
    assert.is(range?.value?.type, NotificationType.KEY_RANGE_DELETED);
    assert.is(range?.key, `${p}/a`);
    assert.is(range?.value?.keyRangeLast, `${p}/z`);
    for (const b of batches) assert.is(b.shard, s);
    assert.ok(batches.every((b, i) => i === 0 || b.offset > batches[i - 1]!.offset), 'offsets increase');
    stream.cancel();
  });

  S('notifications opened from now start with an empty batch carrying the current offset', async () => {
    const k = `${fresh()}/pos`;
    const s = at(k);
    const put = await c.put(s, { key: k, value: enc('x') });
    assert.is(put.puts[0]?.status, Status.OK);
    const stream = c.notifications(s);
    const [first] = await stream.take(1);
    assert.is(first?.notifications.length, 0);
    assert.is(first?.shard, s);
    assert.ok((first?.offset ?? -1n) >= 0n, 'positioned at the commit offset, which includes the put above');
    await c.put(s, { key: k, value: enc('y') });
    const [next] = await stream.take(1);
    assert.ok((next?.offset ?? -1n) > (first?.offset ?? 0n));
    assert.equal(next?.notifications.map((n) => [n.key, n.value?.type]), [[k, NotificationType.KEY_MODIFIED]]);
    stream.cancel();
  });

  S('notifications resume from an offset', async () => {
    const p = fresh();
    const pk = `${p}-r`;
    const s = at(pk);
    const first = (await c.put(s, { key: `${p}/1`, value: enc('1'), partitionKey: pk })).puts[0];
    assert.ok(first);
    await c.put(s, { key: `${p}/2`, value: enc('2'), partitionKey: pk });
    // Find the batch of the first put, then resume right after it: the next one is the second put.
    const scan = c.notifications(s, -1n);
    let offsetOfFirst: bigint | undefined;
    await waitFor(async () => {
      for (const b of await scan.take(1)) {
        if (b.notifications.some((n) => n.key === `${p}/1`)) offsetOfFirst = b.offset;
      }
      return offsetOfFirst !== undefined;
    }, 'the first put in the notification history');
    scan.cancel();
    const resumed = c.notifications(s, offsetOfFirst);
    const [next] = await resumed.take(1);
    assert.equal(next?.notifications.map((n) => n.key), [`${p}/2`]);
    resumed.cancel();
  });

  S('WriteStream: shard and namespace from metadata, responses in order', async () => {
    const p = fresh();
    const pk = `${p}-ws`;
    const s = at(pk);
    const reqs = [1, 2, 3].map((i) => ({ puts: [{ key: `${p}/${i}`, value: enc(String(i)), partitionKey: pk, sequenceKeyDelta: [], secondaryIndexes: [] }], deletes: [], deleteRanges: [] }));
    const out = await c.writeStream(s, 'default', reqs);
    assert.is(out.length, 3);
    assert.ok(out.every((r) => r.puts[0]?.status === Status.OK));
    assert.ok(out[0]!.puts[0]!.version!.versionId < out[2]!.puts[0]!.version!.versionId);
    await expectGrpcError(c.writeStream(undefined, 'default', reqs), grpc.status.INVALID_ARGUMENT, /shard/);
  });

  S('the old service name io.streamnative.oxia.proto.OxiaClient is served too', async () => {
    const old = new RawOxiaClient(server.address, true);
    try {
      const k = `${fresh()}/compat`;
      assert.is((await old.put(at(k), { key: k, value: enc('x') })).puts[0]?.status, Status.OK);
      assert.is(dec((await old.get(at(k), k)).value), 'x');
    } finally {
      old.close();
    }
  });

  S('errors: unknown namespace, unknown shard, inverted range, empty key', async () => {
    const ns = await expectGrpcError(c.assignments('no-such-namespace'), grpc.status.NOT_FOUND);
    assert.is(errorInfo(ns)?.reason, 'NAMESPACE_NOT_FOUND');
    await expectGrpcError(c.get(999n, 'x'), grpc.status.NOT_FOUND, /shard/);
    await expectGrpcError(c.list(shards[0]!.shard, '/z', '/a'), grpc.status.INVALID_ARGUMENT, /range/);
    await expectGrpcError(c.put(shards[0]!.shard, { key: '', value: enc('x') }), grpc.status.INVALID_ARGUMENT, /key/);
    // And the server still serves.
    const k = `${fresh()}/after-errors`;
    assert.is((await c.put(at(k), { key: k, value: enc('ok') })).puts[0]?.status, Status.OK);
  });

  S.run();
}
