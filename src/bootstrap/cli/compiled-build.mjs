// The compiled form of the sources: `tsc -p tsconfig.build.json` writes JavaScript under
// dist/, and the `oxia-ts` bin runs it when it matches the sources. Plain JavaScript, like
// the bin, because it decides how the TypeScript is loaded.
//
// Why compile at all when tsx can run the sources: tsx (esbuild) keeps function names by
// wrapping every named closure in a helper call that redefines its `name`, and hot paths
// create closures per request; it also compiles every module again at each start. The
// tsc output runs the same code without either (about 15% less CPU per operation in
// `npm run bench -- --cluster 3`, see ADR 0015), so servers, coordinators and the perf
// tool run it. tsx remains the fallback whenever the build is missing or older than a
// source file, so an edited source is never shadowed by stale JavaScript.
//
//   node src/bootstrap/cli/compiled-build.mjs           build unless fresh (npm run build)
//   node src/bootstrap/cli/compiled-build.mjs --force   build even when fresh
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The package's root folder (holds package.json, src/ and dist/). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The compiled CLI entry (the counterpart of ./main.ts). */
export const COMPILED_MAIN = join(PACKAGE_ROOT, 'dist', 'src', 'bootstrap', 'cli', 'main.js');

/** Written after a successful build: the newest source modification time the build saw. */
const stampPath = (root) => join(root, 'dist', 'build-stamp.json');

/** Files besides src/ whose change changes the compiled output. */
const BUILD_INPUTS = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newestMtimeMs(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtimeMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** The newest modification time among the sources and build settings, in ms. */
export function newestSourceMtimeMs(root = PACKAGE_ROOT) {
  let newest = newestMtimeMs(join(root, 'src'));
  for (const name of BUILD_INPUTS) newest = Math.max(newest, statSync(join(root, name)).mtimeMs);
  return newest;
}

/** Whether dist/ holds a complete build of the current sources. */
export function buildIsFresh(root = PACKAGE_ROOT) {
  const stamp = stampPath(root);
  if (!existsSync(stamp) || !existsSync(join(root, 'dist', 'src', 'bootstrap', 'cli', 'main.js'))) return false;
  try {
    const { sourcesMtimeMs } = JSON.parse(readFileSync(stamp, 'utf8'));
    return typeof sourcesMtimeMs === 'number' && newestSourceMtimeMs(root) <= sourcesMtimeMs;
  } catch {
    return false;
  }
}

/**
 * Compiles the sources into dist/ unless the build is fresh (or `force`). The stamp records
 * the newest source time seen before compiling, so a file edited during the build leaves the
 * build stale. Returns 'fresh' or 'built'; throws with tsc's output when compiling fails.
 */
export function build({ force = false, root = PACKAGE_ROOT } = {}) {
  if (!force && buildIsFresh(root)) return 'fresh';
  const sourcesMtimeMs = newestSourceMtimeMs(root);
  const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { cwd: root, encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`tsc failed (exit ${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
  }
  mkdirSync(dirname(stampPath(root)), { recursive: true });
  writeFileSync(stampPath(root), `${JSON.stringify({ sourcesMtimeMs })}\n`);
  return 'built';
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const outcome = build({ force: process.argv.includes('--force') });
    console.log(outcome === 'fresh' ? 'dist/ is up to date with src/' : 'compiled src/ into dist/');
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    process.exit(1);
  }
}
