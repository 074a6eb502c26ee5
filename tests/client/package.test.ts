// The built package: `npm run build` output (tsconfig.build.json) imported as
// `import { OxiaClient } from 'oxia-ts'` by plain Node (no tsx) and by TypeScript
// through the emitted declarations.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = join(root, 'node_modules', '.bin', 'tsc');

test('the built library is importable as oxia-ts, with type declarations', () => {
  const pkg = mkdtempSync(join(tmpdir(), 'oxia-ts-pkg-'));
  try {
    const build = spawnSync(tsc, ['-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], { encoding: 'utf8', timeout: 300_000 });
    assert.is(build.status, 0, build.stdout + build.stderr);
    const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: manifest['name'], type: manifest['type'], exports: manifest['exports'], types: manifest['types'] }));
    symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');

    // Plain Node, through the package's "exports" (a package may import itself by name).
    writeFileSync(
      join(pkg, 'consumer.mjs'),
      `import { OxiaClient, OxiaError, KeyNotFoundError, UnexpectedVersionIdError, SessionNotFoundError, InvalidOptionsError,
         ComparisonType, NotificationType, EXPECTED_RECORD_DOES_NOT_EXIST, Version, TokenAuthentication } from 'oxia-ts';
       if (typeof OxiaClient.connect !== 'function') throw new Error('no connect');
       if (!(new KeyNotFoundError() instanceof OxiaError)) throw new Error('error hierarchy');
       if (ComparisonType.FLOOR !== 1 || NotificationType.KEY_DELETED !== 2 || EXPECTED_RECORD_DOES_NOT_EXIST !== -1) throw new Error('constants');
       try { await OxiaClient.connect('127.0.0.1:1', { initTimeoutMs: 200, logger: { warn() {} } }); throw new Error('connected?'); }
       catch (e) { if (!(e instanceof OxiaError)) throw e; }
       console.log('ok');`,
    );
    const run = spawnSync(process.execPath, [join(pkg, 'consumer.mjs')], { cwd: pkg, encoding: 'utf8', timeout: 60_000 });
    assert.is(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /ok/);

    // TypeScript, through the emitted .d.ts files.
    writeFileSync(
      join(pkg, 'consumer.ts'),
      `import { OxiaClient, type GetResult, type PutResult, type OxiaClientOptions } from 'oxia-ts';
       const options: OxiaClientOptions = { namespace: 'default', requestTimeoutMs: 1000 };
       export async function use(): Promise<[PutResult, GetResult]> {
         const c = await OxiaClient.connect('localhost:6648', options);
         return [await c.put('/a', 'v', { ephemeral: true }), await c.get('/a')];
       }`,
    );
    writeFileSync(join(pkg, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, types: ['node'], typeRoots: [join(root, 'node_modules/@types')] }, files: ['consumer.ts'] }));
    const check = spawnSync(tsc, ['-p', join(pkg, 'tsconfig.json')], { cwd: pkg, encoding: 'utf8', timeout: 300_000 });
    assert.is(check.status, 0, check.stdout + check.stderr);
  } finally {
    rmSync(pkg, { recursive: true, force: true });
  }
});

test.run();
