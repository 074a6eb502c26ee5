// The metered store counts failed reads as Oxia's oxia_server_kv_read_errors_total (ADR 0026):
// a real SQLite store closed under the decorator makes every kind of read fail, synchronous
// point reads included, and each failure is counted once, under the shard's labels.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MeteredKvStoreFactory } from '../../src/adapters/metrics/metered-kv-store.js';
import { PromMetrics } from '../../src/adapters/metrics/prom-metrics.js';
import { SqliteKvStoreFactory } from '../../src/adapters/kv-sqlite/sqlite-kv-store-factory.js';
import type { KvStore, KvStoreFactory } from '../../src/application/ports/kv-store.js';
import type { ShardRef } from '../../src/application/ports/shard-ref.js';
import { parseExposition } from '../support/metrics-scrape.js';

const SHARD: ShardRef = { namespace: 'default', shard: 7n };
const LABELS = { oxia_namespace: 'default', shard: '7' };
const key = (s: string): Uint8Array => Buffer.from(s);

async function readErrors(metrics: PromMetrics): Promise<number | undefined> {
  return parseExposition((await metrics.exposition()).body).value('oxia_server_kv_read_errors_total', LABELS);
}

test('failed point, range and snapshot reads are counted; successful ones are not', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'oxia-metered-kv-'));
  const metrics = new PromMetrics();
  // The decorator opens through this factory, so the test holds the real backend store it wraps.
  const sqlite = new SqliteKvStoreFactory({ dataDir });
  let backend: KvStore | undefined;
  const holding: KvStoreFactory = {
    kind: sqlite.kind,
    open: async (shard) => (backend = await sqlite.open(shard)),
    delete: (shard) => sqlite.delete(shard),
  };
  try {
    const store = await new MeteredKvStoreFactory(holding, metrics).open(SHARD);
    await store.write([{ type: 'put', key: key('/a'), value: key('1') }]);
    assert.equal(Buffer.from(store.getNow!(key('/a'))!).toString(), '1');
    assert.equal(Buffer.from((await store.get(key('/a')))!).toString(), '1');
    const entries = [];
    for await (const e of store.range({ gte: key('/'), lt: key('/z') })) entries.push(e);
    assert.is(entries.length, 1);
    const snapshot = await store.snapshot();
    assert.equal(Buffer.from((await snapshot.get(key('/a')))!).toString(), '1');
    assert.is(await readErrors(metrics), 0, 'present at 0, no failure yet');

    // The snapshot stays readable; the store itself is closed under the decorator.
    await backend!.close();
    assert.throws(() => store.getNow!(key('/a')));
    assert.is(await readErrors(metrics), 1, 'a throwing synchronous read');
    await store.get(key('/a')).then(
      () => assert.unreachable('get on a closed store'),
      () => undefined,
    );
    assert.is(await readErrors(metrics), 2, 'a rejected get');
    await (async () => {
      for await (const _ of store.range({ gte: key('/'), lt: key('/z') })) assert.unreachable('range on a closed store');
    })().then(
      () => assert.unreachable('range on a closed store'),
      () => undefined,
    );
    assert.is(await readErrors(metrics), 3, 'a failed range step');
    await store.snapshot().then(
      () => assert.unreachable('snapshot of a closed store'),
      () => undefined,
    );
    assert.is(await readErrors(metrics), 4, 'a refused snapshot');
    await snapshot.close();
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
