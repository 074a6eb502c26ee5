// `oxia-ts client ...` as users run it (the package bin, a child process) against a real
// `oxia-ts standalone`: every subcommand, its options, human and --json output, and the
// exit statuses (0 ok, 1 not found / unexpected version / failure, 2 usage).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { KeyNotFoundError, OxiaClient } from '../../src/adapters/client/index.js';
import { rejects } from '../client/support/fake-client.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { waitFor } from '../support/wait.js';
import { runCli, startCli } from './support.js';

const S = suite('oxia-ts client');
let server: StandaloneProcess;
let lib: OxiaClient;
const fresh = () => `/cli-${randomUUID().slice(0, 8)}`;
const client = (...args: string[]) => runCli(['client', '-a', server.address, ...args]);
const json = (stdout: string) => stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

S.before(async () => {
  server = await startStandalone({ shards: 2 });
  lib = await OxiaClient.connect(server.address, { logger: { warn: () => {} } });
});
S.after(async () => {
  await lib?.close();
  await server?.stop();
});

S('put and get: human output, --json with Oxia\'s version fields, -v, --hex, -c from stdin', async () => {
  const k = `${fresh()}/a`;
  const put = await client('put', k, 'hello');
  assert.is(put.code, 0, put.stderr);
  assert.match(put.stdout, new RegExp(`^key:\\s+${k}$`, 'm'));
  assert.match(put.stdout, /^version-id:\s+\d+$/m);

  const get = await client('get', k);
  assert.equal([get.code, get.stdout], [0, 'hello\n']);
  const withVersion = await client('get', k, '-v');
  assert.match(withVersion.stdout, /^hello\n---\nkey:\s+\S+\nversion-id:\s+\d+\nmodifications-count:\s+0\n/);
  const hex = await client('get', k, '--hex');
  assert.is(hex.stdout, '00000000  68 65 6c 6c 6f                                    |hello|\n');

  const [record] = json((await client('--json', 'get', k)).stdout);
  assert.is(record?.['value'], 'hello');
  assert.is(record?.['key'], k);
  assert.is(record?.['version_id'], (await lib.get(k)).version.versionId);
  for (const field of ['created_timestamp', 'modified_timestamp', 'modifications_count', 'ephemeral', 'session_id', 'client_identity']) {
    assert.ok(field in (record ?? {}), field);
  }

  const fromStdin = await runCli(['client', '-a', server.address, 'put', k, '-c', '--json'], { input: Buffer.from([0, 1, 255]) });
  assert.is(fromStdin.code, 0, fromStdin.stderr);
  const [binary] = json((await client('get', k, '--json')).stdout);
  assert.is(binary?.['value_base64'], Buffer.from([0, 1, 255]).toString('base64'), 'bytes that are not UTF-8 come as base64');
});

S('exit 1: key not found, unexpected version, create-only on an existing record, nothing listening', async () => {
  const k = `${fresh()}/b`;
  const missing = await client('get', k);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /key not found/);
  assert.equal(json((await client('get', k, '--json')).stdout)[0]?.['kind'], 'KeyNotFound');
  assert.is((await client('delete', k)).code, 1);

  const created = json((await client('put', k, 'v1', '--json')).stdout)[0];
  const version = String(created?.['version_id']);
  const stale = await client('put', k, 'v2', '-e', String(Number(version) + 100), '--json');
  assert.is(stale.code, 1);
  assert.is(json(stale.stdout)[0]?.['kind'], 'UnexpectedVersionId');
  assert.is((await client('put', k, 'v2', '--create-only')).code, 1);
  assert.is((await client('delete', k, '-e', String(Number(version) + 100))).code, 1);
  assert.is((await client('put', k, 'v2', '-e', version)).code, 0);
  assert.is(new TextDecoder().decode((await lib.get(k)).value), 'v2');

  const nobody = await runCli(['client', '-a', '127.0.0.1:1', '--request-timeout', '1s', 'get', k]);
  assert.is(nobody.code, 1);
  assert.match(nobody.stderr, /127\.0\.0\.1:1/);
});

S('exit 2: usage errors are reported before anything is sent', async () => {
  const k = `${fresh()}/c`;
  for (const [args, message] of [
    [['put', k], /no value given/],
    [['put', k, 'v', '-c'], /not both/],
    [['put', k, 'v', '--bogus'], /unknown option '--bogus'/],
    [['get', k, '-t', 'nearest'], /--comparison-type: must be one of equal, floor, ceiling, lower, higher/],
    [['put', k, 'v', '-e', 'x'], /--expected-version: must be an integer/],
    [['put', k, 'v', '--index', 'novalue'], /--index: must be NAME=KEY/],
    [['put', k, 'v', '-d', 'one'], /--sequence-keys-deltas/],
    [['delete-range', '-s', '/a'], /required option '-e, --key-max <key>'/],
    [['sequence-updates', k], /required option '-p, --partition-key <key>'/],
    [['--request-timeout', 'soon', 'get', k], /--request-timeout/],
    [['put', k, 'v', '-d', '1'], /sequenceKeysDeltas requires partitionKey/],
  ] as const) {
    const r = await client(...args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
  await rejects(() => lib.get(k), (e) => e instanceof KeyNotFoundError, 'nothing was written');
});

S('partition key, sequence keys, secondary indexes, comparisons', async () => {
  const p = fresh();
  const pk = `pk-${randomUUID()}`;
  const first = json((await client('put', `${p}/seq`, 'x', '-p', pk, '-d', '1,2', '--json')).stdout)[0];
  assert.is(first?.['key'], `${p}/seq-${'1'.padStart(20, '0')}-${'2'.padStart(20, '0')}`);
  const second = json((await client('put', `${p}/seq`, 'y', '-p', pk, '-d', '1', '-d', '1', '--json')).stdout)[0];
  assert.is(second?.['key'], `${p}/seq-${'2'.padStart(20, '0')}-${'3'.padStart(20, '0')}`);
  assert.is((await client('get', second?.['key'] as string, '-p', pk)).stdout, 'y\n');

  assert.is((await client('put', `${p}/u1`, 'alice', '--index', 'by-name=alice', '--index', 'by-age=30')).code, 0);
  assert.is((await client('put', `${p}/u2`, 'bob', '--index', 'by-name=bob')).code, 0);
  assert.is((await client('get', 'bob', '--index', 'by-name')).stdout, 'bob\n');
  assert.is((await client('list', '-s', 'a', '-e', 'c', '--index', 'by-name')).stdout, `${p}/u1\n${p}/u2\n`);
  // The index entries themselves are internal records: listed only with --internal-keys.
  const entries = ['-s', '__oxia/idx/by-name/', '-e', '__oxia/idx/by-name//'];
  assert.is((await client('list', ...entries)).stdout, '');
  const internal = (await client('list', ...entries, '--internal-keys')).stdout.split('\n');
  assert.ok(internal.some((k) => k.startsWith('__oxia/idx/by-name/alice')), internal.join(' '));
  const scanned = json((await client('range-scan', ...entries, '--internal-keys', '--json')).stdout);
  assert.ok(scanned.some((r) => String(r['key']).startsWith('__oxia/idx/by-name/bob')), JSON.stringify(scanned));

  const floor = json((await client('get', `${p}/u1z`, '-t', 'floor', '--json')).stdout)[0];
  assert.is(floor?.['key'], `${p}/u1`);
  const higher = json((await client('get', `${p}/u1`, '--comparison-type', 'higher', '--json')).stdout)[0];
  assert.is(higher?.['key'], `${p}/u2`);
});

S('list, range-scan and delete-range', async () => {
  const p = fresh();
  for (const i of [1, 2, 3]) await lib.put(`${p}/${i}`, `v${i}`);
  assert.is((await client('list', '-s', `${p}/`, '-e', `${p}//`)).stdout, `${p}/1\n${p}/2\n${p}/3\n`);
  assert.equal(json((await client('list', '-s', `${p}/`, '-e', `${p}//`, '--json')).stdout), [{ key: `${p}/1` }, { key: `${p}/2` }, { key: `${p}/3` }]);
  const scan = await client('range-scan', '-s', `${p}/`, '-e', `${p}//`);
  assert.is(scan.stdout, `v1\n${'-'.repeat(79)}\nv2\n${'-'.repeat(79)}\nv3\n`);
  const records = json((await client('range-scan', '-s', `${p}/`, '-e', `${p}//`, '--json')).stdout);
  assert.equal(records.map((r) => [r['key'], r['value']]), [[`${p}/1`, 'v1'], [`${p}/2`, 'v2'], [`${p}/3`, 'v3']]);
  const deleted = await client('delete-range', '-s', `${p}/2`, '-e', `${p}//`);
  assert.is(deleted.code, 0, deleted.stderr);
  assert.equal(await lib.list(`${p}/`, `${p}//`), [`${p}/1`]);
  assert.is((await client('delete', `${p}/1`)).code, 0);
  assert.equal(await lib.list(`${p}/`, `${p}//`), []);
});

S('notifications and sequence-updates follow changes until interrupted (exit 0)', async () => {
  const p = fresh();
  const follow = startCli(['client', '-a', server.address, '--json', 'notifications']);
  try {
    // The command prints nothing until something changes: write markers until one shows.
    let n = 0;
    await waitFor(async () => {
      await lib.put(`${p}/marker`, String(n++));
      return follow.stdout().includes(`${p}/marker`);
    }, 'the notifications command to see a change', 60_000, 200);
    const put = await lib.put(`${p}/x`, 'v');
    await lib.delete(`${p}/x`);
    await waitFor(() => follow.stdout().includes(`"KEY_DELETED","key":"${p}/x"`), 'the deletion of x');
    const mine = json(follow.stdout()).filter((e) => e['key'] === `${p}/x`);
    assert.equal(mine, [
      { type: 'KEY_CREATED', key: `${p}/x`, version_id: put.version.versionId },
      { type: 'KEY_DELETED', key: `${p}/x` },
    ]);
  } finally {
    assert.is(await follow.interrupt('SIGINT'), 0);
  }

  const pk = `pk-${randomUUID()}`;
  const updates = startCli(['client', '-a', server.address, 'sequence-updates', `${p}/q`, '-p', pk]);
  try {
    let last = '';
    await waitFor(async () => {
      if (last !== '' && updates.stdout().includes(last)) return true;
      last = (await lib.put(`${p}/q`, 'v', { partitionKey: pk, sequenceKeysDeltas: [1] })).key;
      return false;
    }, 'the sequence-updates command to report the latest key', 60_000, 200);
    assert.match(updates.stdout(), new RegExp(`^${p}/q-\\d{20}$`, 'm'));
  } finally {
    assert.is(await updates.interrupt('SIGTERM'), 0);
  }
});

S('put --ephemeral holds the record until the command is interrupted', async () => {
  const k = `${fresh()}/eph`;
  const holder = startCli(['client', '-a', server.address, '--json', 'put', k, 'mine', '--ephemeral', '--session-timeout', '5s']);
  try {
    await waitFor(() => holder.stdout().includes('"ephemeral":true'), 'the ephemeral put', 60_000);
    const got = await lib.get(k);
    assert.is(got.version.isEphemeral(), true);
    assert.is(json(holder.stdout())[0]?.['session_id'], got.version.sessionId);
  } finally {
    assert.is(await holder.interrupt('SIGINT'), 0);
  }
  // Closing the command's client closed the session: the record is gone at once.
  await rejects(() => lib.get(k), (e) => e instanceof KeyNotFoundError, 'the record after the command ended');
});

S.run();
