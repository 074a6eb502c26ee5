#!/usr/bin/env node
// Runs every uvu test file in its own Node process (so one crashing file cannot hide the
// others), two at a time on this 2-core class of machine, and sums uvu's per-file summaries.
// Ends with one line "N passed, M failed" and exits non-zero when anything failed or no test ran.
//
//   node tests/run.mjs                 all short tests
//   node tests/run.mjs --long          also the long fault-injection runs (*.long.test.ts)
//   node tests/run.mjs wal kv          only files whose path contains one of the words
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { build } from '../src/bootstrap/cli/compiled-build.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const long = args.includes('--long') || process.env.OXIA_LONG_TESTS === '1';
const filters = args.filter((a) => !a.startsWith('--'));
const concurrency = Number(process.env.TEST_CONCURRENCY ?? Math.max(1, Math.min(2, availableParallelism())));
const fileTimeoutMs = Number(process.env.TEST_FILE_TIMEOUT_MS ?? (long ? 40 * 60_000 : 10 * 60_000));

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'fixtures') return [];
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const files = walk(join(root, 'tests'))
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) => long || !f.endsWith('.long.test.ts'))
  .filter((f) => filters.length === 0 || filters.some((w) => relative(root, f).includes(w)))
  .sort();

// uvu prints "Total: N / Passed: N / Skipped: N" after each file run directly.
const ansi = /\x1b\[[0-9;]*m/g;
function parseSummary(out) {
  const text = out.replace(ansi, '');
  const num = (label) => {
    const m = [...text.matchAll(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'gm'))].pop();
    return m ? Number(m[1]) : undefined;
  };
  return { total: num('Total'), passed: num('Passed'), skipped: num('Skipped') };
}

function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      out += `\n[runner] killed after ${fileTimeoutMs} ms\n`;
      try { process.kill(-child.pid, 'SIGKILL'); } catch {}
    }, fileTimeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      // Whatever the file left behind in its process group goes too.
      try { process.kill(-child.pid, 'SIGKILL'); } catch {}
      resolve({ file, code, signal, out, ms: Date.now() - started });
    });
  });
}

let passed = 0;
let failed = 0;
let skipped = 0;
const queue = [...files];
const results = [];
async function worker() {
  for (let f = queue.shift(); f; f = queue.shift()) {
    const r = await runFile(f);
    const s = parseSummary(r.out);
    const name = relative(root, r.file);
    let filePassed = s.passed ?? 0;
    let fileFailed = (s.total ?? 0) - filePassed - (s.skipped ?? 0);
    // A file that crashed, timed out or printed no summary is a failure even if its counts look fine.
    if (r.code !== 0 || s.total === undefined) fileFailed = Math.max(fileFailed, 1);
    if (s.total === 0) fileFailed = Math.max(fileFailed, 1);
    passed += filePassed;
    failed += fileFailed;
    skipped += s.skipped ?? 0;
    const status = fileFailed > 0 ? 'FAIL' : 'ok  ';
    console.log(`${status} ${name} (${filePassed} passed, ${fileFailed} failed, ${(r.ms / 1000).toFixed(1)} s)`);
    if (fileFailed > 0 || process.env.TEST_VERBOSE === '1') console.log(r.out.replace(ansi, '').split('\n').map((l) => '    ' + l).join('\n'));
    results.push(r);
  }
}

if (files.length === 0) {
  console.log('no test files matched');
  console.log('0 passed, 1 failed');
  process.exit(1);
}
// The processes the tests start (servers, coordinators, the CLI) run the compiled build, as
// deployments do; a build that fails counts as a failure, and the bin then falls back to the
// sources, so the tests still run.
try {
  const started = Date.now();
  const outcome = build();
  console.log(`ok   build: ${outcome === 'fresh' ? 'dist/ up to date' : 'compiled src/ into dist/'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
} catch (e) {
  failed += 1;
  console.log(`FAIL build\n${String(e instanceof Error ? e.message : e).split('\n').map((l) => '    ' + l).join('\n')}`);
}
await Promise.all(Array.from({ length: concurrency }, worker));
if (passed + failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
