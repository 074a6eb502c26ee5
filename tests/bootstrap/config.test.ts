// Validation of `oxia-ts standalone` settings: defaults, conversions, and errors that
// name the offending flag.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/bootstrap/config/option-table.js';
import { parseServerConfig } from '../../src/bootstrap/config/server-config.js';
import { parseStandaloneConfig, type RawOptions } from '../../src/bootstrap/config/standalone-config.js';
import { loadConfigFile } from '../../src/bootstrap/config/config-file.js';
import { parseDurationMs } from '../../src/bootstrap/config/values.js';
import { DEFAULT_REQUEST_LIMITS } from '../../src/domain/database/limits.js';

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseStandaloneConfig(raw as RawOptions);
  } catch (e) {
    assert.instance(e, ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

test('defaults are Oxia standalone defaults', () => {
  const c = parseStandaloneConfig({});
  assert.is(c.shards, 1);
  assert.equal(c.publicAddr, { host: '127.0.0.1', port: 6648 });
  assert.equal(c.metricsAddr, { host: '127.0.0.1', port: 8080 });
  assert.is(c.dataDir, './data/db');
  assert.is(c.walDir, './data/wal');
  assert.is(c.notificationsEnabled, true);
  assert.is(c.keySorting, 'hierarchical');
  assert.is(c.kv, 'sqlite');
  assert.is(c.walSyncData, true);
  assert.is(c.minFreeDiskBytes, 64 * 1024 * 1024);
  assert.is(c.walRetentionMs, 3_600_000);
  assert.is(c.notificationsRetentionMs, 3_600_000);
  assert.equal(c.limits, DEFAULT_REQUEST_LIMITS);
  assert.is(c.advertisedAddr, undefined);
});

test('text values from flags are converted', () => {
  const c = parseStandaloneConfig({
    shards: '8',
    'public-addr': '[::1]:0',
    'metrics-addr': ':0',
    kv: 'level',
    'key-sorting': 'natural',
    'notifications-enabled': 'false',
    'wal-sync-data': false,
    'min-free-disk-bytes': '0',
    'wal-retention-time': '1h30m',
    'shutdown-timeout': '500ms',
    'request-size-bytes-max': '2097152',
    'value-size-bytes-max': 1048576,
  });
  assert.is(c.shards, 8);
  assert.equal(c.publicAddr, { host: '::1', port: 0 });
  assert.equal(c.metricsAddr, { host: '0.0.0.0', port: 0 }, 'an empty host means every interface');
  assert.is(c.kv, 'level');
  assert.is(c.keySorting, 'natural');
  assert.is(c.notificationsEnabled, false);
  assert.is(c.walSyncData, false);
  assert.is(c.minFreeDiskBytes, 0);
  assert.is(c.walRetentionMs, 5_400_000);
  assert.is(c.shutdownTimeoutMs, 500);
  assert.is(c.limits.requestSizeBytesMax, 2_097_152);
  assert.is(c.limits.valueSizeBytesMax, 1_048_576);
});

test('each bad value is reported with its flag name', () => {
  const problems = problemsOf({
    shards: '0',
    'public-addr': 'localhost',
    'metrics-addr': '127.0.0.1:70000',
    kv: 'rocksdb',
    'key-sorting': 'random',
    'notifications-enabled': 'maybe',
    'wal-retention-time': '10 minutes',
    'data-dir': '',
    'log-level': 'trace',
  });
  const expectations: [string, string][] = [
    ['--shards', 'integer from 1 to 1024, got "0"'],
    ['--public-addr', 'host:port'],
    ['--metrics-addr', '"127.0.0.1:70000"'],
    ['--kv', 'one of sqlite, level, got "rocksdb"'],
    ['--key-sorting', 'hierarchical, natural'],
    ['--notifications-enabled', 'true or false, got "maybe"'],
    ['--wal-retention-time', 'duration'],
    ['--data-dir', 'non-empty'],
    ['--log-level', 'debug, info, warn, error'],
  ];
  for (const [flag, text] of expectations) {
    assert.ok(problems.some((p) => p.startsWith(`${flag}: `) && p.includes(text)), `${flag} reported with "${text}" in: ${problems.join(' | ')}`);
  }
  assert.is(problems.length, expectations.length, 'one problem per bad value');
});

test('too many shards, non-integers and unknown settings are rejected', () => {
  assert.match(problemsOf({ shards: 5000 })[0] ?? '', /^--shards: /);
  assert.match(problemsOf({ shards: '1.5' })[0] ?? '', /^--shards: /);
  assert.match(problemsOf({ 'shard-count': 3 } as RawOptions)[0] ?? '', /unknown setting\(s\): shard-count/);
});

test('limits that no request could reach are rejected', () => {
  const problems = problemsOf({ 'request-size-bytes-max': 1048576, 'value-size-bytes-max': 2097152 });
  assert.equal(problems, ['--value-size-bytes-max: must not exceed --request-size-bytes-max (1048576)']);
});

test("a server's integrity checks (ADR 0031): digests compared every 1024 entries, no periodic scan, unless set", () => {
  assert.equal(parseServerConfig({}).integrity, { digestCheckpointEntries: 1024, storeScanIntervalMs: 0 });
  assert.equal(parseServerConfig({ 'state-digest-checkpoint-entries': '64', 'state-digest-scan-interval': '24h' }).integrity, {
    digestCheckpointEntries: 64,
    storeScanIntervalMs: 86_400_000,
  });
  assert.throws(() => parseServerConfig({ 'state-digest-checkpoint-entries': '-1' }), /--state-digest-checkpoint-entries/);
  assert.throws(() => parseServerConfig({ 'state-digest-scan-interval': '10' }), /--state-digest-scan-interval/);
});

test('durations follow Go syntax', () => {
  assert.is(parseDurationMs('250ms'), 250);
  assert.is(parseDurationMs('2s'), 2000);
  assert.is(parseDurationMs('1.5m'), 90_000);
  assert.is(parseDurationMs('1h2m3s'), 3_723_000);
  assert.is(parseDurationMs('0'), 0);
  assert.is(parseDurationMs('10'), undefined, 'a unit is required');
  assert.is(parseDurationMs('1d'), undefined);
  assert.is(parseDurationMs(''), undefined);
});

test('a YAML config file holds the same settings; bad files are named', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-config-'));
  try {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'shards: 4\nkv: level\nnotifications-enabled: false\nwal-retention-time: 30m\n');
    const c = parseStandaloneConfig(loadConfigFile(good));
    assert.is(c.shards, 4);
    assert.is(c.kv, 'level');
    assert.is(c.notificationsEnabled, false);
    assert.is(c.walRetentionMs, 1_800_000);

    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- shards\n');
    assert.throws(() => loadConfigFile(list), (e: unknown) => e instanceof ConfigError && e.message.includes('mapping'));
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'shards: [1\n');
    assert.throws(() => loadConfigFile(broken), (e: unknown) => e instanceof ConfigError && e.message.includes('not valid YAML'));
    assert.throws(() => loadConfigFile(join(dir, 'missing.yaml')), (e: unknown) => e instanceof ConfigError && e.message.includes('cannot read'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
