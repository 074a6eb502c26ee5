// One process per WAL directory: a second node with its own --data-dir but the first one's
// --wal-dir refuses to start, naming the directory; after the first dies (even by SIGKILL)
// the directory is free again.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WalDirectoryLock } from '../../src/adapters/wal-file/wal-directory-lock.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { runCli } from './support.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';

const S = suite('wal directory lock');
const dir = mkdtempSync(join(tmpdir(), 'oxia-wal-lock-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

let first: StandaloneProcess | undefined;
S.after(async () => {
  await first?.stop();
});

S('in one process: a second holder is refused until the first releases', async () => {
  const walDir = join(dir, 'in-process');
  const a = new WalDirectoryLock({ dir: walDir });
  const b = new WalDirectoryLock({ dir: walDir });
  await a.acquire();
  try {
    await b.acquire().then(
      () => assert.unreachable('the second lock was granted'),
      (e: unknown) => {
        assert.ok(isOxiaError(e, 'ResourceConflict'), String(e));
        assert.match(String((e as Error).message), new RegExp(`WAL directory ${walDir} is in use`));
      },
    );
  } finally {
    a.release();
  }
  await b.acquire();
  b.release();
});

S('a second node on the same --wal-dir refuses to start; a crash of the first frees it', async () => {
  first = await startStandalone({ dataDir: join(dir, 'first') });
  const walDir = join(first.dataDir, 'wal');
  const second = ['standalone', '--public-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--data-dir', join(dir, 'second-db'), '--wal-dir', walDir];
  const refused = await runCli(second);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`WAL directory ${walDir} is in use by another process`));
  await first.kill9();
  first = await startStandalone({ dataDir: join(dir, 'first') });
});

S.run();
