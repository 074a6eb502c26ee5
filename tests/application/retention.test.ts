// One retention pass (src/application/shard/retention.ts), shared by leaders and followers: the
// store is flushed before the log is cut, the log is cut no further than the applied offset, and
// a closed shard's store is not written. On a real SQLite store behind write-behind commits and a
// real file WAL.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteKvStoreFactory } from '../../src/adapters/kv-sqlite/sqlite-kv-store-factory.js';
import { WriteBehindKvStore } from '../../src/adapters/kv-write-behind/write-behind-kv-store.js';
import { FileWalFactory } from '../../src/adapters/wal-file/file-wal-factory.js';
import type { KvStore } from '../../src/application/ports/kv-store.js';
import type { Wal } from '../../src/application/ports/wal.js';
import { applyRetention } from '../../src/application/shard/retention.js';
import { notificationBatchOp, readNotifications } from '../../src/domain/database/notifications.js';
import type { LogEntry } from '../../src/domain/wal/log-entry.js';

const SHARD = { namespace: 'default', shard: 0n };
const enc = new TextEncoder();
/** Long enough that nothing commits by time during a test. */
const NEVER_MS = 600_000;

function entry(offset: bigint, timestampMs: bigint): LogEntry {
  return { term: 1n, offset, timestamp: timestampMs, value: new Uint8Array(1000).fill(Number(offset)) };
}

async function withShard(fn: (s: { store: KvStore; kv: WriteBehindKvStore; wal: Wal; calls: string[] }) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-retention-test-'));
  const store = await new SqliteKvStoreFactory({ dataDir: join(dir, 'db') }).open(SHARD);
  const kv = new WriteBehindKvStore(store, { intervalMs: NEVER_MS, maxKeys: 1_000_000, maxBytes: 1 << 30 });
  // Segments of about four entries, so that expiring can drop some of them.
  const fileWal = await new FileWalFactory({ dir: join(dir, 'wal'), segmentSizeBytes: 4096, syncData: false }).open(SHARD);
  const calls: string[] = [];
  const recordingKv: KvStore = Object.assign(Object.create(kv) as KvStore, {
    flush: async () => {
      calls.push('flush');
      await kv.flush();
    },
    write: async (...args: Parameters<KvStore['write']>) => {
      calls.push('write');
      await kv.write(...args);
    },
  });
  const wal: Wal = Object.assign(Object.create(fileWal) as Wal, {
    expire: async (olderThanMs: bigint, notAfterOffset: bigint) => {
      calls.push(`expire ${olderThanMs} ${notAfterOffset}`);
      await fileWal.expire(olderThanMs, notAfterOffset);
    },
  });
  try {
    await fn({ store, kv: recordingKv as WriteBehindKvStore, wal, calls });
  } finally {
    await fileWal.close();
    await kv.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the store is flushed before the log is cut, and the log keeps what was not applied', () =>
  withShard(async ({ store, kv, wal, calls }) => {
    for (let o = 0n; o < 20n; o++) await wal.append([entry(o, 1_000n)]);
    await kv.write([{ type: 'put', key: enc.encode('/applied'), value: enc.encode('v') }]);
    assert.is(await store.get(enc.encode('/applied')), undefined, 'the write waits in memory');
    calls.length = 0;

    await applyRetention({ wal, kv, nowMs: 10_000_000, appliedOffset: 9n, walRetentionMs: 1_000, notificationsRetentionMs: undefined, open: () => true });

    assert.equal(calls, ['flush', 'expire 9999000 9'], 'flush first, then the log up to the applied offset');
    assert.equal(await store.get(enc.encode('/applied')), enc.encode('v'), 'the store holds the applied write');
    const first = wal.firstOffset();
    assert.ok(first > 0n && first <= 10n, `old entries were dropped, none past the applied offset (first is ${first})`);
  }));

test('old notifications are trimmed, but a closed shard\'s store is not written', () =>
  withShard(async ({ store, kv, wal, calls }) => {
    const batch = (offset: bigint, timestamp: bigint) => notificationBatchOp({ shard: 0n, offset, timestamp, notifications: [{ key: `/k${offset}`, value: undefined }] });
    await store.write([batch(0n, 1_000n), batch(1n, 2_000n), batch(2n, 9_999_500n)]);
    const offsets = async () => {
      const out: bigint[] = [];
      for await (const b of readNotifications(kv, -1n)) out.push(b.offset);
      return out;
    };
    await applyRetention({ wal, kv, nowMs: 10_000_000, appliedOffset: -1n, walRetentionMs: 1_000, notificationsRetentionMs: 1_000, open: () => false });
    assert.not.ok(calls.includes('write'), `no store write once closed: ${calls.join(', ')}`);
    assert.equal(await offsets(), [0n, 1n, 2n]);

    await applyRetention({ wal, kv, nowMs: 10_000_000, appliedOffset: -1n, walRetentionMs: 1_000, notificationsRetentionMs: 1_000, open: () => true });
    assert.equal(await offsets(), [2n], 'the batches older than the retention are gone');
  }));

test.run();
