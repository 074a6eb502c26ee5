// The client library against a real `oxia-ts standalone` child process: every call and
// option of the public API, fan-out merges, sessions and ephemeral records. Scenarios
// follow the official Oxia Node client's documented usage.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import {
  ComparisonType,
  EXPECTED_RECORD_DOES_NOT_EXIST,
  InvalidOptionsError,
  KeyNotFoundError,
  NotificationType,
  OxiaClient,
  OxiaError,
  RequestTimeoutError,
  SessionNotFoundError,
  TokenAuthentication,
  UnexpectedVersionIdError,
  type Notification,
  type OxiaClientOptions,
  type SessionLostEvent,
} from '../../../src/adapters/client/index.js';
import { routingHash } from '../../../src/domain/sharding/hash.js';
import { splitHashRange, findByHash } from '../../../src/domain/sharding/hash-range.js';
import { startStandalone, type StandaloneProcess } from '../../support/standalone.js';
import { waitFor } from '../../support/wait.js';
import { rejects } from '../support/fake-client.js';

const decode = (v: Uint8Array | undefined) => new TextDecoder().decode(v);
const pad = (n: number) => n.toString().padStart(20, '0');
const quiet = { warn: () => {} };

/** The next `n` items of an iterator, failing after `timeoutMs`. */
export async function nextItems<T>(it: AsyncIterator<T>, n: number, timeoutMs = 10_000): Promise<T[]> {
  const out: T[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`got ${out.length} of ${n} items within ${timeoutMs} ms: ${JSON.stringify(out)}`)), timeoutMs);
  });
  try {
    while (out.length < n) {
      const r = await Promise.race([it.next(), timeout]);
      if (r.done === true) throw new Error('the iteration ended');
      out.push(r.value);
    }
    return out;
  } finally {
    clearTimeout(timer);
  }
}

export function clientApiSuite(kv: 'sqlite' | 'level', shardCount: number): void {
  const S = suite(`client library, --kv ${kv}, --shards ${shardCount}`);
  let server: StandaloneProcess;
  let client: OxiaClient;
  const clients: OxiaClient[] = [];
  /** A unique key prefix per test: tests share the server. */
  const fresh = () => `/t-${randomUUID().slice(0, 8)}`;
  const connect = async (options: OxiaClientOptions = {}) => {
    const c = await OxiaClient.connect(server.address, { logger: quiet, ...options });
    clients.push(c);
    return c;
  };
  const shardOf = (key: string) => findByHash(splitHashRange(shardCount).map((range, i) => ({ range, i })), routingHash(key))?.i;

  S.before(async () => {
    server = await startStandalone({ shards: shardCount, kv });
    client = await connect();
  });
  S.after(async () => {
    for (const c of clients) await c.close();
    await server?.stop();
  });

  S('put, get and the version metadata; bytes and strings; includeValue', async () => {
    const k = `${fresh()}/a`;
    const put = await client.put(k, 'hello');
    assert.is(put.key, k);
    assert.is(put.version.modificationsCount, 0);
    assert.is(put.version.isEphemeral(), false);
    assert.ok(Math.abs(put.version.createdTimestamp.getTime() - Date.now()) < 60_000, 'server timestamps in ms');
    const got = await client.get(k);
    assert.is(got.key, k);
    assert.is(decode(got.value), 'hello');
    assert.is(got.version.versionId, put.version.versionId);
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const second = await client.put(k, bytes, { expectedVersionId: put.version.versionId });
    assert.is(second.version.modificationsCount, 1);
    assert.ok(second.version.versionId > put.version.versionId);
    assert.equal(second.version.createdTimestamp, put.version.createdTimestamp);
    assert.equal([...((await client.get(k)).value ?? [])], [...bytes]);
    const meta = await client.get(k, { includeValue: false });
    assert.is(meta.value, undefined);
    assert.is(meta.version.versionId, second.version.versionId);
  });

  S('conditional put and delete; delete tells whether the record existed', async () => {
    const k = `${fresh()}/c`;
    const first = await client.put(k, 'v1', { expectedVersionId: EXPECTED_RECORD_DOES_NOT_EXIST });
    await rejects(() => client.put(k, 'v2', { expectedVersionId: EXPECTED_RECORD_DOES_NOT_EXIST }), (e) => e instanceof UnexpectedVersionIdError);
    await rejects(() => client.put(k, 'v2', { expectedVersionId: first.version.versionId + 1000 }), (e) => e instanceof UnexpectedVersionIdError);
    await rejects(() => client.delete(k, { expectedVersionId: first.version.versionId + 1000 }), (e) => e instanceof UnexpectedVersionIdError);
    assert.is(await client.delete(k, { expectedVersionId: first.version.versionId }), true);
    assert.is(await client.delete(k), false);
    await rejects(() => client.get(k), (e) => e instanceof KeyNotFoundError);
  });

  S('a burst of concurrent writes and reads is batched and every result is right', async () => {
    const p = fresh();
    const keys = Array.from({ length: 300 }, (_, i) => `${p}/burst/${i}`);
    const puts = await Promise.all(keys.map((k, i) => client.put(k, `v${i}`)));
    assert.equal(puts.map((r) => r.key), keys);
    const gets = await Promise.all(keys.map((k) => client.get(k)));
    assert.equal(gets.map((g) => decode(g.value)), keys.map((_, i) => `v${i}`));
    assert.is((await client.list(`${p}/burst/`, `${p}/burst//`)).length, 300);
  });

  S('partition keys co-locate records; list, delete and deleteRange are scoped to them', async () => {
    const pk = `pk-${randomUUID()}`;
    const other = `${pk}-other`;
    const p = fresh();
    for (const [i, s] of ['a', 'b', 'c'].entries()) await client.put(`${p}-item-${s}`, String(i), { partitionKey: pk });
    assert.is(decode((await client.get(`${p}-item-a`, { partitionKey: pk })).value), '0');
    assert.equal(await client.list(`${p}-item-`, `${p}-item-~`, { partitionKey: pk }), [`${p}-item-a`, `${p}-item-b`, `${p}-item-c`]);
    if (shardCount > 1 && shardOf(pk) !== shardOf(other)) {
      assert.equal(await client.list(`${p}-item-`, `${p}-item-~`, { partitionKey: other }), []);
      assert.is(await client.delete(`${p}-item-c`, { partitionKey: other }), false);
      await client.deleteRange(`${p}-item-`, `${p}-item-~`, { partitionKey: other });
    }
    assert.is(await client.delete(`${p}-item-c`, { partitionKey: pk }), true);
    assert.equal(await client.list(`${p}-item-`, `${p}-item-~`, { partitionKey: pk }), [`${p}-item-a`, `${p}-item-b`]);
    await client.deleteRange(`${p}-item-`, `${p}-item-~`, { partitionKey: pk });
    assert.equal(await client.list(`${p}-item-`, `${p}-item-~`, { partitionKey: pk }), []);
  });

  S('list and rangeScan: one shard in its order; several merged as the official clients merge them', async () => {
    const p = fresh();
    const suffixes = ['/a', '/aa', '/a/b', '/a/b/c', '/aa/a', '/b', '/b/a', '/b/ab', '/c', '/d', '/e'];
    const keys = suffixes.map((s) => p + s);
    await Promise.all(keys.map((k) => client.put(k, k)));
    // A shard's order: depth first, then bytes with '/' above every other character.
    const shardOrder = ['/a', '/aa', '/b', '/c', '/d', '/e', '/aa/a', '/a/b', '/b/a', '/b/ab', '/a/b/c'].map((s) => p + s);
    // The official clients sort the keys of several shards by CompareWithSlash (ADR 0006).
    const clientOrder = ['/a', '/aa', '/b', '/c', '/d', '/e', '/a/b', '/a/b/c', '/aa/a', '/b/a', '/b/ab'].map((s) => p + s);
    if (shardCount > 1) assert.ok(new Set(keys.map(shardOf)).size > 1, 'the keys span shards');
    // The range covers other tests' keys of the same depths: keep only ours.
    const listed = (await client.list(`${p}/`, `${p}/~/~/~`)).filter((k) => k.startsWith(`${p}/`));
    assert.equal(listed, shardCount === 1 ? shardOrder : clientOrder);
    const scanned: string[] = [];
    for await (const r of client.rangeScan(`${p}/`, `${p}/~/~/~`)) {
      if (!r.key.startsWith(`${p}/`)) continue;
      assert.is(decode(r.value), r.key);
      scanned.push(r.key);
    }
    // How several shards interleave depends on where the keys (and other tests' keys) live,
    // tested in shard-merge-order.test.ts; here: every key once, each shard's in its order.
    assert.equal([...scanned].sort(), [...keys].sort());
    for (const shard of new Set(keys.map(shardOf))) {
      assert.equal(scanned.filter((k) => shardOf(k) === shard), shardOrder.filter((k) => shardOf(k) === shard), `shard ${shard}`);
    }
    if (shardCount === 1) assert.equal(scanned, shardOrder);
    // Direct children only: [p/, p//) holds one level.
    assert.equal(await client.list(`${p}/`, `${p}//`), shardOrder.slice(0, 6));
  });

  S('rangeScan streams large ranges and stops early on break', async () => {
    const p = fresh();
    const keys = Array.from({ length: 500 }, (_, i) => `${p}/s/${String(i).padStart(4, '0')}`);
    await Promise.all(keys.map((k) => client.put(k, 'x'.repeat(100))));
    const all: string[] = [];
    for await (const r of client.rangeScan(`${p}/s/`, `${p}/s//`)) all.push(r.key);
    assert.equal(all, keys);
    const firstTen: string[] = [];
    for await (const r of client.rangeScan(`${p}/s/`, `${p}/s//`)) {
      firstTen.push(r.key);
      if (firstTen.length === 10) break;
    }
    assert.equal(firstTen, keys.slice(0, 10));
  });

  S('deleteRange without a partition key clears the range on every shard', async () => {
    const p = fresh();
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((s) => `${p}/r/${s}`);
    await Promise.all(keys.map((k) => client.put(k, 'v')));
    await client.deleteRange(`${p}/r/b`, `${p}/r/g`);
    assert.equal(await client.list(`${p}/r/`, `${p}/r//`), [`${p}/r/a`, `${p}/r/g`, `${p}/r/h`]);
  });

  S('FLOOR, CEILING, LOWER and HIGHER across shards pick the nearest key', async () => {
    // A depth no other test uses, so that the neighbours are ours alone.
    const p = `/cmp/${randomUUID().slice(0, 8)}/x/x/x/x`;
    for (const s of ['a', 'c', 'd', 'e', 'g']) await client.put(`${p}/${s}`, s);
    const at = async (s: string, comparisonType?: ComparisonType) => {
      const r = await client.get(`${p}/${s}`, comparisonType === undefined ? {} : { comparisonType });
      return [r.key.slice(p.length + 1), decode(r.value)];
    };
    assert.equal(await at('a'), ['a', 'a']);
    assert.equal(await at('b', ComparisonType.FLOOR), ['a', 'a']);
    assert.equal(await at('f', ComparisonType.FLOOR), ['e', 'e']);
    assert.equal(await at('b', ComparisonType.CEILING), ['c', 'c']);
    assert.equal(await at('c', ComparisonType.CEILING), ['c', 'c']);
    assert.equal(await at('c', ComparisonType.LOWER), ['a', 'a']);
    assert.equal(await at('e', ComparisonType.HIGHER), ['g', 'g']);
    // Below ours, hierarchically, are the shallower keys of other tests: LOWER leaves our set.
    const below = await client.get(`${p}/a`, { comparisonType: ComparisonType.LOWER }).catch((e: unknown) => e);
    assert.ok(below instanceof KeyNotFoundError || !(below as { key: string }).key.startsWith(p));
    // No test writes deeper keys: nothing is above ours.
    await rejects(() => at('h', ComparisonType.HIGHER), (e) => e instanceof KeyNotFoundError);
    // Nothing sorts below "\u0001" (no key is shallower than depth 0 or starts lower).
    await rejects(() => client.get('\u0001', { comparisonType: ComparisonType.LOWER }), (e) => e instanceof KeyNotFoundError);
    await rejects(() => at('b'), (e) => e instanceof KeyNotFoundError);
  });

  S('secondary indexes: list, rangeScan and get by index (all comparisons)', async () => {
    const idx = `idx-${randomUUID().slice(0, 8)}`;
    const p = fresh();
    for (let i = 1; i <= 9; i++) {
      const v = String(i).padStart(3, '0');
      await client.put(`${p}/${String.fromCharCode(96 + i)}`, v, { secondaryIndexes: { [idx]: v, [`${idx}-other`]: `o${v}` } });
    }
    const pk = (s: string) => `${p}/${s}`;
    const listed = await client.list('002', '005', { useIndex: idx });
    assert.equal([...listed].sort(), [pk('b'), pk('c'), pk('d')]);
    const scanned: [string, string][] = [];
    for await (const r of client.rangeScan('002', '005', { useIndex: idx })) scanned.push([r.key, decode(r.value)]);
    assert.equal(scanned.sort(), [
      [pk('b'), '002'],
      [pk('c'), '003'],
      [pk('d'), '004'],
    ]);
    const lookup = async (q: string, comparisonType?: ComparisonType) => {
      const r = await client.get(q, { useIndex: idx, ...(comparisonType === undefined ? {} : { comparisonType }) });
      return [r.key, decode(r.value)];
    };
    assert.equal(await lookup('001'), [pk('a'), '001']);
    await rejects(() => lookup('000'), (e) => e instanceof KeyNotFoundError);
    assert.equal(await lookup('005', ComparisonType.FLOOR), [pk('e'), '005']);
    assert.equal(await lookup('0055', ComparisonType.FLOOR), [pk('e'), '005']);
    assert.equal(await lookup('999', ComparisonType.FLOOR), [pk('i'), '009']);
    assert.equal(await lookup('000', ComparisonType.CEILING), [pk('a'), '001']);
    assert.equal(await lookup('001', ComparisonType.HIGHER), [pk('b'), '002']);
    assert.equal(await lookup('003', ComparisonType.LOWER), [pk('b'), '002']);
    await rejects(() => lookup('009', ComparisonType.HIGHER), (e) => e instanceof KeyNotFoundError);
    // Overwriting moves the index entry; deleting removes it.
    await client.put(pk('a'), 'x', { secondaryIndexes: { [idx]: '100' } });
    assert.equal(await lookup('100'), [pk('a'), 'x']);
    await client.delete(pk('a'));
    await rejects(() => lookup('100'), (e) => e instanceof KeyNotFoundError);
  });

  S('sequence keys: server-chosen suffixes, in order; sequence updates follow them', async () => {
    const partitionKey = `seq-${randomUUID()}`;
    await rejects(() => client.put('s', '0', { sequenceKeysDeltas: [1] }), (e) => e instanceof InvalidOptionsError);
    const first = await client.put('s', '0', { sequenceKeysDeltas: [1], partitionKey });
    assert.is(first.key, `s-${pad(1)}`);
    const second = await client.put('s', '1', { sequenceKeysDeltas: [3], partitionKey });
    assert.is(second.key, `s-${pad(4)}`);
    const third = await client.put('s', '2', { sequenceKeysDeltas: [1, 6], partitionKey });
    assert.is(third.key, `s-${pad(5)}-${pad(6)}`);
    await rejects(() => client.get('s', { partitionKey }), (e) => e instanceof KeyNotFoundError);
    assert.is(decode((await client.get(`s-${pad(5)}-${pad(6)}`, { partitionKey })).value), '2');
    const rapid = await Promise.all(Array.from({ length: 25 }, (_, i) => client.put('b', `v${i}`, { sequenceKeysDeltas: [1], partitionKey })));
    assert.equal(rapid.map((r) => r.key), Array.from({ length: 25 }, (_, i) => `b-${pad(i + 1)}`), 'issue order is kept');

    const updates = client.getSequenceUpdates('b', { partitionKey });
    try {
      const it = updates[Symbol.asyncIterator]();
      assert.equal(await nextItems(it, 1), [`b-${pad(25)}`], 'the current highest key first');
      const next = await client.put('b', 'x', { sequenceKeysDeltas: [1], partitionKey });
      assert.equal(await nextItems(it, 1), [next.key]);
    } finally {
      updates.close();
    }
    const loop = (async () => {
      for await (const _ of updates) {
        // ended by close()
      }
    })();
    await loop;
  });

  S('notifications: created, modified, deleted and range-deleted, from every shard, to every subscriber', async () => {
    const p = fresh();
    const a = client.getNotifications();
    const b = client.getNotifications();
    try {
      const ia = a[Symbol.asyncIterator]();
      const ib = b[Symbol.asyncIterator]();
      const mine = async (it: AsyncIterator<Notification>, n: number) => {
        const out: Notification[] = [];
        while (out.length < n) for (const x of await nextItems(it, 1)) if (x.key.startsWith(p)) out.push(x);
        return out;
      };
      const v1 = await client.put(`${p}/x`, '0');
      const v2 = await client.put(`${p}/x`, '1');
      await client.delete(`${p}/x`);
      assert.equal(await mine(ia, 3), [
        { key: `${p}/x`, type: NotificationType.KEY_CREATED, versionId: v1.version.versionId },
        { key: `${p}/x`, type: NotificationType.KEY_MODIFIED, versionId: v2.version.versionId },
        { key: `${p}/x`, type: NotificationType.KEY_DELETED, versionId: 0 },
      ]);
      assert.equal((await mine(ib, 3)).map((n) => n.type), [NotificationType.KEY_CREATED, NotificationType.KEY_MODIFIED, NotificationType.KEY_DELETED]);
      const keys = Array.from({ length: 12 }, (_, i) => `${p}/many/${i}`);
      await Promise.all(keys.map((k) => client.put(k, 'v')));
      assert.equal(new Set((await mine(ia, 12)).map((n) => n.key)), new Set(keys), 'from every shard');
      await client.put(`${p}/pk`, 'v', { partitionKey: 'one-shard' });
      await client.deleteRange(`${p}/pk`, `${p}/pk~`, { partitionKey: 'one-shard' });
      const tail = await mine(ia, 2);
      assert.is(tail[0]?.type, NotificationType.KEY_CREATED);
      assert.is(tail[1]?.type, NotificationType.KEY_RANGE_DELETED);
      assert.is(tail[1]?.key, `${p}/pk`);
      assert.is(tail[1]?.keyRangeEnd, `${p}/pk~`);
    } finally {
      a.close();
      b.close();
    }
    const ended = (async () => {
      for await (const _ of a) {
        // ended by close()
      }
    })();
    await ended;
  });

  S('ephemeral records: session per shard reused, identity recorded, removed when the client closes', async () => {
    const creator = await connect({ clientIdentifier: 'creator-1', sessionTimeoutMs: 5000 });
    const p = fresh();
    const keys = Array.from({ length: 6 }, (_, i) => `${p}/e/${i}`);
    const puts = await Promise.all(keys.map((k) => creator.put(k, 'v', { ephemeral: true })));
    for (const r of puts) {
      assert.ok(r.version.isEphemeral());
      assert.is(r.version.clientIdentity, 'creator-1');
    }
    const sessionsPerShard = new Map<number | undefined, Set<number | undefined>>();
    puts.forEach((r, i) => sessionsPerShard.set(shardOf(keys[i] as string), (sessionsPerShard.get(shardOf(keys[i] as string)) ?? new Set()).add(r.version.sessionId)));
    for (const ids of sessionsPerShard.values()) assert.is(ids.size, 1, 'one session per shard');
    const seen = await client.get(keys[0] as string);
    assert.ok(seen.version.isEphemeral());
    assert.is(seen.version.clientIdentity, 'creator-1');
    // Overwritten as a normal record, it outlives the session.
    const kept = await creator.put(`${p}/kept`, 'x', { ephemeral: true });
    const persisted = await creator.put(`${p}/kept`, 'y');
    assert.not.ok(persisted.version.isEphemeral());
    assert.is(persisted.version.modificationsCount, kept.version.modificationsCount + 1);
    await creator.close();
    for (const k of keys) await rejects(() => client.get(k), (e) => e instanceof KeyNotFoundError, `get ${k}`);
    assert.is(decode((await client.get(`${p}/kept`)).value), 'y');
  });

  S('heartbeats keep a session alive well past its timeout', async () => {
    const holder = await connect({ sessionTimeoutMs: 2000 });
    const k = `${fresh()}/alive`;
    await holder.put(k, 'v', { ephemeral: true });
    const until = Date.now() + 5000;
    // Checked all along, not slept over: the record must never disappear.
    await waitFor(async () => {
      assert.ok((await client.get(k)).version.isEphemeral());
      return Date.now() > until;
    }, 'the record to outlive 2.5 session timeouts', 15_000, 200);
    await holder.close();
  });

  S('client options: batching knobs, identity, credentials, natural-order merge option', async () => {
    const c = await connect({
      namespace: 'default',
      batchLingerMs: 0,
      maxRequestsPerBatch: 1,
      maxBatchSizeBytes: 64,
      requestTimeoutMs: 10_000,
      maxPendingRequests: 4,
      maxPendingBytes: 1024,
      clientIdentifier: 'opts',
      authentication: new TokenAuthentication('t'),
    });
    const p = fresh();
    const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => c.put(`${p}/o/${i}`, 'x'.repeat(100))));
    assert.is(rs.length, 20);
    assert.is((await c.list(`${p}/o/`, `${p}/o//`)).length, 20);
    await rejects(() => OxiaClient.connect(server.address, { namespace: 'no-such-namespace', logger: quiet }), (e) => e instanceof OxiaError && (e as OxiaError).kind === 'NamespaceNotFound');
  });

  S('a server that stops answering fails calls at the request timeout; they work again after', async () => {
    const c = await connect({ requestTimeoutMs: 1000 });
    const k = `${fresh()}/t`;
    await c.put(k, 'v');
    process.kill(server.pid as number, 'SIGSTOP');
    try {
      const started = Date.now();
      await rejects(() => c.get(k), (e) => e instanceof RequestTimeoutError);
      assert.ok(Date.now() - started < 5000);
    } finally {
      process.kill(server.pid as number, 'SIGCONT');
    }
    assert.is(decode((await c.get(k)).value), 'v');
  });

  S('a lost session is reported, fails the next ephemeral put, and is replaced', async () => {
    const holder = await connect({ sessionTimeoutMs: 2000, heartbeatIntervalMs: 200 });
    const events: SessionLostEvent[] = [];
    holder.onSessionLost((e) => events.push(e));
    const k = `${fresh()}/lock`;
    const first = await holder.put(k, 'me', { ephemeral: true });
    // Frozen for longer than the session timeout: no heartbeat is acknowledged, and the
    // server expires the session as soon as it runs again.
    process.kill(server.pid as number, 'SIGSTOP');
    try {
      await waitFor(() => events.length > 0, 'the client to notice the lost session', 15_000);
    } finally {
      process.kill(server.pid as number, 'SIGCONT');
    }
    assert.is(events[0]?.sessionId, first.version.sessionId);
    await waitFor(async () => {
      try {
        await client.get(k);
        return false;
      } catch (e) {
        if (e instanceof KeyNotFoundError) return true;
        throw e;
      }
    }, 'the server to remove the ephemeral record');
    await rejects(() => holder.put(k, 'me', { ephemeral: true }), (e) => e instanceof SessionNotFoundError);
    const again = await holder.put(k, 'me', { ephemeral: true });
    assert.is.not(again.version.sessionId, first.version.sessionId);
  });

  S.run();
}
