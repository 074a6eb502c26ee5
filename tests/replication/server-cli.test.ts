// `oxia-ts server` as users run it: help lists Oxia's flags with their defaults, misuse
// exits 2 naming the flag, a config file fills settings, and the health command sees the
// internal port SERVING.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseServerConfig } from '../../src/bootstrap/config/server-config.js';
import { startStorageNode } from '../support/storage-node.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const bin = fileURLToPath(new URL('../../src/bootstrap/cli/oxia-ts.mjs', import.meta.url));

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('server --help lists the flags with their defaults', () => {
  const r = run('server', '--help');
  assert.is(r.code, 0, r.stderr);
  for (const flag of [
    '--public-addr', '--internal-addr', '--metrics-addr', '--data-dir', '--wal-dir', '--kv', '--wal-sync-data', '--no-wal-sync-data',
    '--wal-retention-time', '--wal-segment-size-bytes', '--retention-check-interval', '--notifications-retention-time',
    '--request-size-bytes-max', '--config',
  ]) {
    assert.ok(r.stdout.includes(flag), `${flag} in help`);
  }
  assert.match(r.stdout, /127\.0\.0\.1:6648/);
  assert.match(r.stdout, /127\.0\.0\.1:6649/);
  assert.match(run('--help').stdout, /^\s+server\b/m);
});

test('bad values exit 2 naming each flag; nothing starts', () => {
  const r = run('server', '--internal-addr', 'nowhere', '--kv', 'rocksdb', '--wal-retention-time', 'soon');
  assert.is(r.code, 2);
  assert.match(r.stderr, /--internal-addr: must be an address host:port/);
  assert.match(r.stderr, /--kv: must be one of sqlite, level, got "rocksdb"/);
  assert.match(r.stderr, /--wal-retention-time: must be a duration/);
  assert.is(r.stdout, '');
});

test('settings: defaults as Oxia, values converted', () => {
  const d = parseServerConfig({});
  assert.equal(d.publicAddr, { host: '127.0.0.1', port: 6648 });
  assert.equal(d.internalAddr, { host: '127.0.0.1', port: 6649 });
  assert.equal(d.metricsAddr, { host: '127.0.0.1', port: 8080 });
  assert.is(d.walRetentionMs, 3_600_000);
  assert.is(d.walSyncData, true);
  const c = parseServerConfig({ 'internal-addr': ':7000', 'wal-sync-data': 'false', 'wal-retention-time': '90s', 'wal-segment-size-bytes': '4096' });
  assert.equal(c.internalAddr, { host: '0.0.0.0', port: 7000 });
  assert.is(c.walSyncData, false);
  assert.is(c.walRetentionMs, 90_000);
  assert.is(c.walSegmentSizeBytes, 4096);
});

test('a config file fills settings; the node serves health on both ports', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-server-cli-'));
  try {
    const config = join(dir, 'server.yaml');
    writeFileSync(config, 'wal-segment-size-bytes: 8192\nwal-retention-time: 5m\n');
    const node = await startStorageNode({ dataDir: dir, extraArgs: ['--config', config] });
    try {
      const starting = node.logs().find((l) => l.includes('"msg":"starting"'));
      assert.ok(starting?.includes('"walSegmentSizeBytes":8192') && starting.includes('"walRetentionMs":300000'), `settings from the file: ${starting}`);
      for (const address of [node.publicAddress, node.internalAddress]) {
        const h = run('health', '--address', address);
        assert.is(h.code, 0, h.stderr);
        assert.is(h.stdout.trim(), 'SERVING');
      }
    } finally {
      assert.is(await node.stop(), 0, 'SIGTERM stops the server cleanly');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
