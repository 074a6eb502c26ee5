import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { openDescriptors } from '../support/open-descriptors.js';
import { waitFor } from '../support/wait.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteKvStoreFactory } from '../../src/adapters/kv-sqlite/sqlite-kv-store-factory.js';
import { kvStoreContract, kvStoreCrashContract } from '../contracts/kv-store.contract.js';

const make = (dataDir: string) => new SqliteKvStoreFactory({ dataDir });
kvStoreContract('sqlite', make);
kvStoreCrashContract(
  'sqlite',
  { modulePath: fileURLToPath(new URL('../../src/adapters/kv-sqlite/sqlite-kv-store-factory.ts', import.meta.url)), exportName: 'SqliteKvStoreFactory' },
  make,
);

// SQLite specifics: the settings ADR 0004 relies on, and the cross-process lock.
test('sqlite: WAL journal, and the file is locked against other connections while open', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-kv-sqlite-'));
  const file = join(dir, 'default', '3', 'kv.sqlite');
  try {
    const factory = make(dir);
    let store = await factory.open({ namespace: 'default', shard: 3n });
    await store.write([{ type: 'put', key: new Uint8Array([1]), value: new Uint8Array([2]) }]);
    for (let round = 0; round < 2; round++) {
      // Another connection (as another process would) cannot even read it.
      const other = new Database(file, { timeout: 0, readonly: true });
      try {
        assert.throws(() => other.prepare('SELECT count(*) FROM kv').get(), /locked|busy/i);
      } finally {
        other.close();
      }
      await store.close();
      // Reopened: the lock must be taken again, not only on a fresh file.
      if (round === 0) store = await factory.open({ namespace: 'default', shard: 3n });
    }
    const raw = new Database(file, { readonly: true });
    try {
      assert.is(raw.pragma('journal_mode', { simple: true }), 'wal');
      assert.is(raw.pragma('page_size', { simple: true }), 16384, 'a new file gets 16 KiB pages (ADR 0004)');
      assert.is(raw.pragma('integrity_check', { simple: true }), 'ok');
      assert.is(raw.prepare('SELECT count(*) FROM kv').pluck().get(), 1);
    } finally {
      raw.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: applying batches opens no temp file (statement journals stay in memory)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-kv-sqlite-'));
  try {
    const store = await make(dir).open({ namespace: 'default', shard: 0n });
    // Upserts over existing rows, a batch at a time as the apply writes them: SQLite keeps a
    // statement journal for each, which spills to a file once it holds a few 16 KiB pages.
    const batch = (n: number, fill: number) =>
      Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: new TextEncoder().encode(`key-${i}`), value: new Uint8Array(200).fill(fill) }));
    await store.write(batch(1000, 1));
    for (let round = 2; round < 5; round++) await store.write(batch(64, round));
    const temp = openDescriptors()
      .map((d) => d.target)
      .filter((f) => /\/etilqs_/.test(f));
    assert.equal(temp, [], `temp files open: ${temp.join(', ')}`);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: the store flushes its -wal file through a descriptor of its own, closed with the store', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-kv-sqlite-'));
  const wal = join(dir, 'default', '0', 'kv.sqlite-wal');
  // SQLite's own descriptor on the file, and the one WalPreflush flushes through.
  const descriptorsOnWal = (): number => openDescriptors().filter((d) => d.target === wal).length;
  try {
    const store = await make(dir).open({ namespace: 'default', shard: 0n });
    await store.write([{ type: 'put', key: new Uint8Array([1]), value: new Uint8Array(100) }]);
    await waitFor(() => descriptorsOnWal() === 2, 'a second descriptor on the -wal file');
    await store.close();
    await waitFor(() => descriptorsOnWal() === 0, 'no descriptor on the -wal file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sqlite: a file created with another page size keeps it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-kv-sqlite-'));
  const file = join(dir, 'default', '0', 'kv.sqlite');
  try {
    const factory = make(dir);
    await (await factory.open({ namespace: 'default', shard: 0n })).close();
    rmSync(file);
    const old = new Database(file);
    old.pragma('page_size = 4096');
    old.exec('CREATE TABLE kv (key BLOB NOT NULL PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID');
    old.prepare('INSERT INTO kv VALUES (?, ?)').run(Buffer.from([7]), Buffer.from([8]));
    old.close();
    const store = await factory.open({ namespace: 'default', shard: 0n });
    try {
      assert.equal(await store.get(new Uint8Array([7])), new Uint8Array([8]));
    } finally {
      await store.close();
    }
    const raw = new Database(file, { readonly: true });
    try {
      assert.is(raw.pragma('page_size', { simple: true }), 4096);
    } finally {
      raw.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});


test('sqlite: a snapshot copy left behind by a killed process is removed when the store opens again', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-kv-sqlite-'));
  const shardDir = join(dir, 'default', '0');
  try {
    const factory = make(dir);
    const store = await factory.open({ namespace: 'default', shard: 0n });
    await store.write([{ type: 'put', key: new Uint8Array([1]), value: new Uint8Array([2]) }]);
    const snapshot = await store.snapshot();
    const copies = () => readdirSync(shardDir).filter((n) => n.startsWith('kv-snapshot-'));
    assert.is(copies().length, 1, 'the snapshot is a copy next to the store');
    // As after kill -9: the process never closed the snapshot. (The store is closed so that it can open again here.)
    await store.close();
    const again = await factory.open({ namespace: 'default', shard: 0n });
    try {
      assert.equal(copies(), [], 'the leftover copy is gone');
      assert.equal(await again.get(new Uint8Array([1])), new Uint8Array([2]));
    } finally {
      await again.close();
      await snapshot.close().catch(() => undefined);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
