// The storage failure classifier (adapters/files/storage-failure.ts, ADR 0029) on errors the
// real libraries and the kernel produce without a full filesystem: ENOSPC from /dev/full
// (through the real file log and the real write probe), SQLITE_FULL from a database at its
// max_page_count, SQLITE_READONLY, and a LevelDB "IO error" status. LevelDB's "No space left
// on device" needs a full filesystem (tests/e2e/disk-full-level.test.ts); its form is the
// same status with another text (binding.cc: LEVEL_IO_ERROR), checked here as such.
import { mkdirSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { ClassicLevel } from 'classic-level';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DiskProbe } from '../../src/adapters/files/disk-probe.js';
import { storageFailureOf } from '../../src/adapters/files/storage-failure.js';
import { FileWalFactory } from '../../src/adapters/wal-file/file-wal-factory.js';
import { SEGMENT_SIZE_BYTES_MIN } from '../../src/adapters/wal-file/wal-file-options.js';
import { segmentFileName } from '../../src/adapters/wal-file/record-format.js';
import type { LogEntry } from '../../src/domain/wal/log-entry.js';
import { withTempDir } from '../support/temp-dir.js';

const SHARD = { namespace: 'default', shard: 0n };
/** Every write to it fails with ENOSPC (Linux's full device). */
const FULL_DEVICE = '/dev/full';

function entry(offset: bigint): LogEntry {
  return { term: 1n, offset, timestamp: 1_000n + offset, value: Buffer.alloc(1_000, Number(offset % 256n)) };
}

test('the file log meeting a real ENOSPC fails with DiskFull, refuses until reopened, and reopens with every acknowledged entry', () =>
  withTempDir('wal-enospc', async (root) => {
    const factory = new FileWalFactory({ dir: root, segmentSizeBytes: SEGMENT_SIZE_BYTES_MIN });
    const dir = factory.shardDir(SHARD);
    let wal = await factory.open(SHARD);
    try {
      await wal.append([entry(0n), entry(1n), entry(2n)]);
      // The next append rolls over to a new segment: its file is the full device.
      symlinkSync(FULL_DEVICE, join(dir, segmentFileName(3n)));
      const failed = await wal.append([entry(3n), entry(4n), entry(5n)]).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.is((failed as { kind?: string }).kind, 'DiskFull', String(failed));
      assert.match(String((failed as Error).message), /no space left on device/i);
      const again = await wal.append([entry(3n)]).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.is((again as { kind?: string }).kind, 'DiskFull', 'the log refuses until it is reopened');

      await wal.close();
      unlinkSync(join(dir, segmentFileName(3n)));
      wal = await factory.open(SHARD);
      assert.is(wal.lastEntryId().offset, 2n, 'every acknowledged entry is there, nothing after');
      await wal.append([entry(3n)]);
      const read: bigint[] = [];
      for await (const e of wal.read(0n)) read.push(e.offset);
      assert.equal(read, [0n, 1n, 2n, 3n]);
    } finally {
      await wal.close().catch(() => undefined);
    }
  }));

test('the write probe meeting a real ENOSPC reports DiskFull, and passes once the disk takes writes', () =>
  withTempDir('probe-enospc', async (dir) => {
    const probe = new DiskProbe({ dirs: [dir], minFreeBytes: 0 });
    // The probe's file, by the name it uses, is the full device.
    const probeFile = join(dir, `.oxia-write-probe-${process.pid}`);
    symlinkSync(FULL_DEVICE, probeFile);
    const failed = await probe.probeWrite();
    assert.is(failed?.kind, 'DiskFull', String(failed));
    assert.match(failed?.message ?? '', /no space left on device/i);
    // The probe removed its file (here the link): the next one writes a real file.
    assert.is(await probe.probeWrite(), undefined);
  }));

test('SQLite: SQLITE_FULL is DiskFull, SQLITE_READONLY is StorageFailed, a constraint is no storage failure', () =>
  withTempDir('sqlite-full', async (dir) => {
    const file = join(dir, 'db.sqlite');
    const db = new Database(file);
    try {
      db.exec('CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB) WITHOUT ROWID');
      // A database at its page limit answers as on a full disk.
      db.pragma('max_page_count = 4');
      const insert = db.prepare('INSERT INTO kv VALUES (?, ?)');
      let full: unknown;
      for (let i = 0; i < 100 && full === undefined; i++) {
        try {
          insert.run(Buffer.from(String(i)), Buffer.alloc(4_000));
        } catch (e) {
          full = e;
        }
      }
      assert.is((full as { code?: string }).code, 'SQLITE_FULL');
      const diskFull = storageFailureOf(full, 'kv store write');
      assert.is(diskFull?.kind, 'DiskFull');
      assert.match(diskFull?.message ?? '', /kv store write failed: disk full \(database or disk is full\)/);

      let constraint: unknown;
      try {
        insert.run(Buffer.from('0'), Buffer.alloc(1));
      } catch (e) {
        constraint = e;
      }
      assert.match(String((constraint as { code?: string }).code), /^SQLITE_CONSTRAINT/);
      assert.is(storageFailureOf(constraint, 'kv store write'), undefined, 'a bug is no storage failure');
    } finally {
      db.close();
    }

    const readOnly = new Database(file, { readonly: true });
    try {
      let refused: unknown;
      try {
        readOnly.prepare('DELETE FROM kv').run();
      } catch (e) {
        refused = e;
      }
      assert.is((refused as { code?: string }).code, 'SQLITE_READONLY');
      assert.is(storageFailureOf(refused, 'kv store write')?.kind, 'StorageFailed');
    } finally {
      readOnly.close();
    }
  }));

test('LevelDB: an "IO error" status is StorageFailed (through the error it is the cause of); "No space left on device" is DiskFull', () =>
  withTempDir('level-io', async (dir) => {
    // A manifest that is a directory: LevelDB's own IO error, as classic-level reports it.
    writeFileSync(join(dir, 'CURRENT'), 'MANIFEST-000001\n');
    mkdirSync(join(dir, 'MANIFEST-000001'));
    const db = new ClassicLevel(dir);
    const failed = await db.open().then(
      () => undefined,
      (e: unknown) => e,
    );
    await db.close().catch(() => undefined);
    const cause = (failed as { cause?: { code?: string; message?: string } }).cause;
    assert.is(cause?.code, 'LEVEL_IO_ERROR');
    assert.match(cause?.message ?? '', /^IO error: /);
    const io = storageFailureOf(failed, 'kv store open');
    assert.is(io?.kind, 'StorageFailed');
    assert.match(io?.message ?? '', /I\/O error \(IO error: .*Is a directory\)/);

    // The same status with the text LevelDB's posix env gives for ENOSPC.
    const full = Object.assign(new Error(`IO error: ${dir}/000005.log: No space left on device`), { code: 'LEVEL_IO_ERROR' });
    assert.is(storageFailureOf(new Error('Batch failed', { cause: full }), 'kv store write')?.kind, 'DiskFull');
  }));

test('Node errno: ENOSPC and EDQUOT are DiskFull; EIO, EROFS, EFBIG are StorageFailed; others are no storage failure', () => {
  const errno = (code: string) => Object.assign(new Error(`${code}: simulated, write`), { code });
  for (const code of ['ENOSPC', 'EDQUOT']) assert.is(storageFailureOf(errno(code), 'w')?.kind, 'DiskFull', code);
  for (const code of ['EIO', 'EROFS', 'EFBIG']) assert.is(storageFailureOf(errno(code), 'w')?.kind, 'StorageFailed', code);
  for (const code of ['ENOENT', 'EINVAL', 'EEXIST']) assert.is(storageFailureOf(errno(code), 'w'), undefined, code);
});

test.run();
