import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fdatasync, fstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PREFLUSH_INTERVAL_MS, WalPreflush } from '../../src/adapters/kv-sqlite/wal-preflush.js';
import { openDescriptors } from '../support/open-descriptors.js';
import { waitFor } from '../support/wait.js';

/** Real fdatasync calls, recorded: when each started, and that it was on the file at `path`. */
function recordingFlush(path: string) {
  const starts: number[] = [];
  const flush = (fd: number, done: (err: NodeJS.ErrnoException | null) => void): void => {
    starts.push(performance.now());
    assert.is(fstatSync(fd).ino, statSync(path).ino, 'flushed the -wal file');
    fdatasync(fd, done);
  };
  return { starts, flush };
}

const descriptorOpenOn = (path: string): boolean => openDescriptors().some((d) => d.target === path);

function withWal(body: (path: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oxia-wal-preflush-'));
    try {
      await body(join(dir, 'kv.sqlite-wal'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'a commit flushes the -wal file at once; commits within the interval make one more flush, not one each',
  withWal(async (path) => {
    writeFileSync(path, Buffer.alloc(64 * 1024, 1));
    const { starts, flush } = recordingFlush(path);
    const preflush = new WalPreflush(path, flush);
    preflush.committed();
    await waitFor(() => starts.length === 1, 'the first flush');
    for (let i = 0; i < 50; i++) {
      writeFileSync(path, Buffer.alloc(1024, i), { flag: 'a' });
      preflush.committed();
    }
    await waitFor(() => starts.length >= 2, 'the second flush');
    preflush.close();
    assert.is(starts.length, 2, 'one flush for the 50 commits');
    // The preflush checks performance.now() before it flushes; a millisecond of slack for the
    // time between its reading and this recording's.
    assert.ok(starts[1]! - starts[0]! >= PREFLUSH_INTERVAL_MS - 1, `second flush ${starts[1]! - starts[0]!} ms after the first`);
    await waitFor(() => !descriptorOpenOn(path), 'the descriptor closed');
  }),
);

test(
  'closed during a flush: the descriptor is closed once the flush ends, and no flush starts after',
  withWal(async (path) => {
    writeFileSync(path, Buffer.alloc(4096, 1));
    let release: (() => void) | undefined;
    let flushes = 0;
    const preflush = new WalPreflush(path, (fd, done) => {
      flushes++;
      release = () => fdatasync(fd, done);
    });
    preflush.committed();
    await waitFor(() => release !== undefined, 'the flush started');
    preflush.committed();
    preflush.close();
    assert.ok(descriptorOpenOn(path), 'still open while the flush runs');
    release!();
    await waitFor(() => !descriptorOpenOn(path), 'the descriptor closed after the flush');
    preflush.committed();
    assert.is(flushes, 1);
  }),
);

test(
  'no -wal file yet: no error, and a commit after it exists flushes it',
  withWal(async (path) => {
    const { starts, flush } = recordingFlush(path);
    const preflush = new WalPreflush(path, flush);
    preflush.committed();
    writeFileSync(path, Buffer.alloc(4096, 1));
    await waitFor(() => {
      preflush.committed();
      return starts.length >= 1;
    }, 'a flush once the file exists');
    preflush.close();
    await waitFor(() => !descriptorOpenOn(path), 'the descriptor closed');
  }),
);

test.run();
