// The bin runs dist/ only while it matches the sources: any newer source or build setting,
// a missing stamp or a missing entry point sends it back to the TypeScript sources.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIsFresh, newestSourceMtimeMs } from '../../src/bootstrap/cli/compiled-build.mjs';

function fakePackage(): { root: string; at(path: string, seconds: number): void; stamp(seconds: number): void } {
  const root = mkdtempSync(join(tmpdir(), 'oxia-ts-build-'));
  const at = (path: string, seconds: number) => {
    const full = join(root, path);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, '');
    utimesSync(full, seconds, seconds);
  };
  for (const f of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src/domain/a.ts', 'src/bootstrap/cli/main.ts']) at(f, 1_000);
  for (const d of ['src/domain', 'src/bootstrap/cli', 'src/bootstrap', 'src']) utimesSync(join(root, d), 1_000, 1_000);
  at('dist/src/bootstrap/cli/main.js', 2_000);
  const stamp = (seconds: number) => writeFileSync(join(root, 'dist', 'build-stamp.json'), JSON.stringify({ sourcesMtimeMs: seconds * 1000 }));
  return { root, at, stamp };
}

test('a build stamped with the newest source time is fresh', () => {
  const p = fakePackage();
  try {
    assert.is(newestSourceMtimeMs(p.root), 1_000_000);
    p.stamp(1_000);
    assert.ok(buildIsFresh(p.root));
  } finally {
    rmSync(p.root, { recursive: true, force: true });
  }
});

test('a source or build setting newer than the stamp makes the build stale', () => {
  for (const changed of ['src/domain/a.ts', 'src/domain/new-file.ts', 'tsconfig.json', 'package.json']) {
    const p = fakePackage();
    try {
      p.stamp(1_000);
      p.at(changed, 1_500);
      assert.not.ok(buildIsFresh(p.root), changed);
    } finally {
      rmSync(p.root, { recursive: true, force: true });
    }
  }
});

test('no stamp, an unreadable stamp or no compiled entry point: not fresh', () => {
  const p = fakePackage();
  try {
    assert.not.ok(buildIsFresh(p.root), 'no stamp');
    writeFileSync(join(p.root, 'dist', 'build-stamp.json'), '{not json');
    assert.not.ok(buildIsFresh(p.root), 'unreadable stamp');
    p.stamp(1_000);
    rmSync(join(p.root, 'dist', 'src'), { recursive: true });
    assert.not.ok(buildIsFresh(p.root), 'no dist/src/bootstrap/cli/main.js');
  } finally {
    rmSync(p.root, { recursive: true, force: true });
  }
});

test.run();
