// The `oxia-ts` binary as users run it (the package bin, a real child process):
// help lists the subcommands, misuse exits 2 with a message naming the problem.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../src/bootstrap/cli/oxia-ts.mjs', import.meta.url));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('the package bin is the CLI', async () => {
  const pkg = (await import('../../package.json', { with: { type: 'json' } })).default as { bin: Record<string, string> };
  assert.is(pkg.bin['oxia-ts'], 'src/bootstrap/cli/oxia-ts.mjs');
});

test('--help lists the subcommands and exits 0', () => {
  const r = run('--help');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /Usage: oxia-ts/);
  assert.match(r.stdout, /^\s+standalone\b/m);
  assert.match(r.stdout, /^\s+health\b/m);
});

test('standalone --help lists Oxia\'s flags with their defaults', () => {
  const r = run('standalone', '--help');
  assert.is(r.code, 0, r.stderr);
  for (const flag of ['--shards', '--public-addr', '--data-dir', '--wal-dir', '--notifications-enabled', '--no-notifications-enabled', '--key-sorting', '--kv', '--metrics-addr', '--wal-sync-data', '--wal-retention-time']) {
    assert.ok(r.stdout.includes(flag), `${flag} in help`);
  }
  assert.match(r.stdout, /127\.0\.0\.1:6648/);
});

test('an unknown flag exits 2 and names the flag', () => {
  const r = run('standalone', '--shard', '3');
  assert.is(r.code, 2);
  assert.match(r.stderr, /unknown option '--shard'/);
  assert.match(r.stderr, /--shards/, 'suggests the right flag');
});

test('a bad flag value exits 2 and names the flag and the value', () => {
  const r = run('standalone', '--shards=zero', '--kv', 'rocksdb');
  assert.is(r.code, 2);
  assert.match(r.stderr, /--shards: must be an integer from 1 to 1024, got "zero"/);
  assert.match(r.stderr, /--kv: must be one of sqlite, level, got "rocksdb"/);
  assert.is(r.stdout, '', 'nothing started, nothing logged');
});

test('an unknown subcommand or none at all exits 2', () => {
  assert.is(run('coordinatorr').code, 2);
  const none = run();
  assert.is(none.code, 2);
  assert.match(none.stderr, /Usage: oxia-ts/);
});

test('health against an address where nothing listens exits 1', () => {
  const r = run('health', '--address', '127.0.0.1:1', '--timeout', '2s');
  assert.is(r.code, 1);
  assert.match(r.stderr, /127\.0\.0\.1:1/);
});

test.run();
