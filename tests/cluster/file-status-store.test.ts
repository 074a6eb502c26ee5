import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileClusterStatusStore } from '../../src/adapters/status-file/file-cluster-status-store.js';
import type { ClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { emptyClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { StatusVersionConflict } from '../../src/domain/cluster/status-conflict.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { waitFor } from '../support/wait.js';
import { killAllChildren, spawnTs } from './support/children.js';
import { RecordingLogger } from './support/test-logger.js';

const WRITER = 'tests/cluster/support/status-writer.ts';
const dirs: string[] = [];
const stores: FileClusterStatusStore[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'oxia-status-file-'));
  dirs.push(d);
  return d;
}

function openStore(path: string, logger = new RecordingLogger(), lockTimeoutMs = 10_000): FileClusterStatusStore {
  const s = new FileClusterStatusStore({ path, lockTimeoutMs }, logger);
  stores.push(s);
  return s;
}

const withGenerator = (n: bigint): ClusterStatus => ({ ...emptyClusterStatus(), shardIdGenerator: n });

async function rejectsWith<T extends Error>(p: Promise<unknown>, type: new (...a: never[]) => T): Promise<T> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, type);
    return e as T;
  }
  assert.unreachable(`expected a ${type.name}`);
  throw new Error('unreachable');
}

test.after.each(async () => {
  killAllChildren();
  await Promise.all(stores.splice(0).map((s) => s.close()));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test('creates the file at version 0, then each write adds one; the file is the seed format', async () => {
  const path = join(tempDir(), 'sub', 'cluster-status.json');
  const store = openStore(path);
  assert.is(await store.load(), undefined);
  assert.is(await store.store(withGenerator(1n), undefined), '0');
  assert.is(await store.store(withGenerator(2n), '0'), '1');
  assert.is(readFileSync(path, 'utf8'), '{"clusterStatus":{"namespaces":{},"shardIdGenerator":2,"serverIdx":0},"version":"1"}');
  assert.equal(await openStore(path).load(), { status: withGenerator(2n), version: '1' });
});

test('a stale version is refused and nothing is written', async () => {
  const path = join(tempDir(), 'status.json');
  const a = openStore(path);
  const b = openStore(path);
  await a.store(withGenerator(1n), undefined);
  const v1 = await b.store(withGenerator(2n), '0');
  const before = readFileSync(path, 'utf8');

  const stale = await rejectsWith(a.store(withGenerator(99n), '0'), StatusVersionConflict);
  assert.ok(isOxiaError(stale, 'ResourceConflict'));
  assert.is(stale.expectedVersion, '0');
  assert.equal(stale.found, { version: v1 });
  assert.match(stale.message, /changed by another writer: expected version 0, found version 1; nothing was written/);
  const create = await rejectsWith(a.store(withGenerator(99n), undefined), StatusVersionConflict);
  assert.equal(create.found, { version: '1' });
  assert.is(readFileSync(path, 'utf8'), before, 'the file is untouched');

  const missing = join(tempDir(), 'none.json');
  const absent = await rejectsWith(openStore(missing).store(withGenerator(1n), '3'), StatusVersionConflict);
  assert.is(absent.found, 'absent');
  assert.equal(readdirSync(join(missing, '..')).filter((n) => !n.endsWith('.lock')), [], 'no status file was created');
});

test('two writers from the same version in one process: exactly one wins', async () => {
  const path = join(tempDir(), 'status.json');
  const stores = [openStore(path), openStore(path), openStore(path)];
  const v = await stores[0]!.store(withGenerator(1n), undefined);
  const results = await Promise.allSettled(stores.map((s, i) => s.store(withGenerator(10n + BigInt(i)), v)));
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r) => r.status === 'rejected');
  assert.is(won.length, 1);
  for (const r of lost) assert.instance((r as PromiseRejectedResult).reason, StatusVersionConflict);
  const winner = results.findIndex((r) => r.status === 'fulfilled');
  assert.equal((await stores[0]!.load())!.status, withGenerator(10n + BigInt(winner)));
});

test('writers in four processes racing: no update is lost', async () => {
  const path = join(tempDir(), 'status.json');
  const perProcess = 25;
  const children = Array.from({ length: 4 }, () => spawnTs(WRITER, ['race', path, String(perProcess)]));
  const exits = await Promise.all(children.map((c) => c.exited));
  exits.forEach((e, i) => assert.equal(e, { code: 0, signal: null }, children[i]!.stderr()));
  const outcomes = children.map((c) => JSON.parse(c.lines.at(-1)!) as { won: number; lost: number });
  const won = outcomes.reduce((a, o) => a + o.won, 0);
  const final = await openStore(path).load();
  // Every successful write incremented the counter it read: a lost update would leave it short.
  assert.is(won, 4 * perProcess);
  assert.is(final!.status.shardIdGenerator, BigInt(won));
  assert.is(final!.version, String(won - 1));
});

test('a partially written temp file is ignored, then cleaned up by the next write', async () => {
  const dir = tempDir();
  const path = join(dir, 'status.json');
  const logger = new RecordingLogger();
  const store = openStore(path, logger);
  const v = await store.store(withGenerator(5n), undefined);
  const good = readFileSync(path, 'utf8');
  // What a crash between write and rename leaves: a truncated copy next to the real file.
  writeFileSync(join(dir, 'status.json.tmp-12345-deadbeef'), good.slice(0, good.length / 2));
  assert.equal(await openStore(path).load(), { status: withGenerator(5n), version: v });
  await store.store(withGenerator(6n), v);
  assert.equal(readdirSync(dir).sort(), ['status.json', 'status.json.lock']);
  assert.ok(logger.messages('warn').some((m) => /temporary status file left by an interrupted write/.test(m)));
});

test('a corrupt status file is reported and never overwritten', async () => {
  const path = join(tempDir(), 'status.json');
  writeFileSync(path, '{"clusterStatus":{"namespaces":{}},"version":"3"');
  const store = openStore(path);
  try {
    await store.load();
    assert.unreachable('load must fail');
  } catch (e) {
    assert.ok(isOxiaError(e, 'InvalidArgument'));
    assert.match((e as Error).message, /status\.json cannot be used \(fix or remove it; it is never overwritten\): cluster status is not valid JSON/);
  }
  await store.store(withGenerator(1n), '3').then(
    () => assert.unreachable('store must fail'),
    (e: unknown) => assert.ok(isOxiaError(e, 'InvalidArgument'), String(e)),
  );
  assert.is(readFileSync(path, 'utf8'), '{"clusterStatus":{"namespaces":{}},"version":"3"');
  // An empty file is "no status yet", as in Oxia.
  writeFileSync(path, '');
  assert.is(await store.load(), undefined);
});

test('kill -9 during writes leaves a complete file, and the lock is free again', async () => {
  const dir = tempDir();
  const path = join(dir, 'status.json');
  const child = spawnTs(WRITER, ['churn', path, '3000']);
  await waitFor(() => child.lines.length >= 5, 'the writer to store a few versions', 60_000);
  child.process.kill('SIGKILL');
  await child.exited;
  const found = await openStore(path).load();
  assert.ok(found, 'the file is readable');
  assert.is(found!.status.namespaces.get('default')!.shards.size, 3000);
  assert.ok(Number(found!.version) >= Number(child.lines.at(-1)), 'the last acknowledged version is on disk');
  // The kernel released the dead writer's lock: a new write does not wait for it.
  const started = Date.now();
  const store = openStore(path, new RecordingLogger(), 2_000);
  await store.store(withGenerator(1n), found!.version);
  assert.ok(Date.now() - started < 2_000);
  assert.equal(readdirSync(dir).sort(), ['status.json', 'status.json.lock']);
});

test('a writer waits for the lock, and gives up with ResourceUnavailable after its timeout', async () => {
  const path = join(tempDir(), 'status.json');
  const holder = spawnTs(WRITER, ['hold-lock', path]);
  await waitFor(() => holder.lines.includes('locked'), 'the other process to take the lock', 30_000);
  const store = openStore(path, new RecordingLogger(), 300);
  try {
    await store.store(withGenerator(1n), undefined);
    assert.unreachable('the lock is held elsewhere');
  } catch (e) {
    assert.ok(isOxiaError(e, 'ResourceUnavailable'), String(e));
    assert.match((e as Error).message, /status\.json\.lock is held by another process for more than 300 ms/);
  }
  const waiting = openStore(path, new RecordingLogger(), 30_000).store(withGenerator(2n), undefined);
  holder.process.kill('SIGKILL');
  assert.is(await waiting, '0');
});

test('a closed store refuses work', async () => {
  const store = openStore(join(tempDir(), 'status.json'));
  await store.close();
  for (const attempt of [() => store.load(), () => store.store(withGenerator(1n), undefined)]) {
    const outcome = await attempt().then(
      () => 'resolved',
      (e: unknown) => (isOxiaError(e, 'Closed') ? 'closed' : String(e)),
    );
    assert.is(outcome, 'closed');
  }
});

test.run();
