// A backup's read of one shard (readShardCopy, ADR 0030) on a real SQLite store: the records
// clients wrote (with partition key, indexes, and "__oxia/" keys of their own), not the shard's
// own records; ephemeral records only when asked; the commit offset of the snapshot; and a
// snapshot that falls between two chunks of an entry applied in pieces is taken again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteKvStoreFactory } from '../../src/adapters/kv-sqlite/sqlite-kv-store-factory.js';
import type { KvStore } from '../../src/application/ports/kv-store.js';
import { readShardCopy } from '../../src/application/shard/shard-copy.js';
import { applyProgressOp } from '../../src/domain/database/apply-progress.js';
import { asciiLongOp, encodeRecord, INTERNAL_ENCODER } from '../../src/domain/database/records.js';
import { COMMIT_OFFSET_KEY, APPLY_PROGRESS_KEY, indexEntryKey, sessionKey } from '../../src/domain/keys/internal-keys.js';
import { keyEncoder } from '../../src/domain/keys/key-encoder.js';
import type { ReadShardResponse } from '../../src/domain/wire/backup.js';
import type { KvOp } from '../../src/domain/database/kv-view.js';

const S = suite('shard copy');
const dir = mkdtempSync(join(tmpdir(), 'oxia-shard-copy-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const CONFIG = { keySorting: 'hierarchical' as const, notificationsEnabled: true };
const encoder = keyEncoder('hierarchical');

function record(key: string, value: string, extra: { partitionKey?: string; sessionId?: bigint; indexes?: Record<string, string> } = {}): KvOp {
  return {
    type: 'put',
    key: encoder.encode(key),
    value: encodeRecord({
      value: Buffer.from(value),
      versionId: 7n,
      modificationsCount: 2n,
      creationTimestamp: 1000n,
      modificationTimestamp: 2000n,
      ...(extra.partitionKey !== undefined && { partitionKey: extra.partitionKey }),
      ...(extra.sessionId !== undefined && { sessionId: extra.sessionId }),
      secondaryIndexes: Object.entries(extra.indexes ?? {}).map(([indexName, secondaryKey]) => ({ indexName, secondaryKey })),
    }),
  };
}

async function copy(kv: KvStore, includeEphemeral: boolean): Promise<ReadShardResponse[]> {
  const out: ReadShardResponse[] = [];
  for await (const m of readShardCopy(kv, CONFIG, includeEphemeral, new AbortController().signal)) out.push(m);
  return out;
}

let shard = 0n;
async function store(): Promise<KvStore> {
  return new SqliteKvStoreFactory({ dataDir: dir }).open({ namespace: 'default', shard: shard++ });
}

S('the records clients wrote, at the snapshot offset; ephemeral ones only when asked', async () => {
  const kv = await store();
  try {
    await kv.write([
      record('/a', 'va', { indexes: { colour: 'red' } }),
      record('/b/c', 'vbc', { partitionKey: 'p' }),
      record('/e', 've', { sessionId: 5n }),
      record('__oxia/mine', 'a client key under __oxia/'),
      { type: 'put', key: encoder.encode(indexEntryKey('colour', 'red', '/a')), value: new Uint8Array() },
      { type: 'put', key: INTERNAL_ENCODER.encode(sessionKey(5n)), value: new Uint8Array() },
      asciiLongOp(COMMIT_OFFSET_KEY, 41n, 0n),
    ]);
    const messages = await copy(kv, false);
    const last = messages[messages.length - 1]!;
    assert.equal(last.end, { commitOffset: 41n, records: 3n, ephemeralSkipped: 1n });
    const records = messages.flatMap((m) => m.records);
    assert.equal(records.map((r) => r.key), ['/a', '/b/c', '__oxia/mine']);
    assert.equal(records[0]!.secondaryIndexes, [{ indexName: 'colour', secondaryKey: 'red' }]);
    assert.is(records[1]!.partitionKey, 'p');
    assert.equal([records[0]!.versionId, records[0]!.modificationsCount, records[0]!.createdTimestamp, records[0]!.modifiedTimestamp], [7n, 2n, 1000n, 2000n]);
    assert.is(Buffer.from(records[1]!.value).toString(), 'vbc');

    const withEphemeral = (await copy(kv, true)).flatMap((m) => m.records);
    assert.equal(withEphemeral.map((r) => [r.key, r.ephemeral]), [['/a', false], ['/e', true], ['/b/c', false], ['__oxia/mine', false]], 'in key order (hierarchical: by depth first)');
  } finally {
    await kv.close();
  }
});

S('a snapshot between the chunks of an entry applied in pieces is dropped and taken again', async () => {
  const real = await store();
  try {
    await real.write([record('/x', 'old'), record('/y', 'old'), asciiLongOp(COMMIT_OFFSET_KEY, 9n, 0n)]);
    // Half of entry 10 is written: /x is gone, /y not yet, the progress record says so.
    await real.write([
      { type: 'del', key: encoder.encode('/x') },
      applyProgressOp({ offset: 10n, request: 0, phase: 'deleteRanges', item: 0, cursor: encoder.encode('/x'), versionId: 0n, notes: 0 }),
    ]);
    let snapshots = 0;
    const kv: KvStore = {
      get: (k) => real.get(k),
      range: (r) => real.range(r),
      write: (ops) => real.write(ops),
      sizeBytes: () => real.sizeBytes(),
    flush: () => real.flush(),
      close: () => real.close(),
      snapshot: async () => {
        const snap = await real.snapshot();
        // Once the first snapshot is taken, the entry completes.
        if (++snapshots === 1) {
          await real.write([{ type: 'del', key: encoder.encode('/y') }, { type: 'del', key: INTERNAL_ENCODER.encode(APPLY_PROGRESS_KEY) }, asciiLongOp(COMMIT_OFFSET_KEY, 10n, 0n)]);
        }
        return snap;
      },
    };
    const messages = await copy(kv, false);
    assert.is(snapshots, 2, 'the first snapshot was dropped');
    assert.equal(messages.flatMap((m) => m.records), []);
    assert.equal(messages[messages.length - 1]!.end, { commitOffset: 10n, records: 0n, ephemeralSkipped: 0n });
  } finally {
    await real.close();
  }
});

S.run();
