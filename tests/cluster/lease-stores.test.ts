// The two coordinator lease stores against what they stand on: the file lease on a real
// directory (several store instances, as several processes would have), the Kubernetes Lease on
// the fake API server of ADR 0008 (resourceVersion conflicts, lost answers, MicroTime format).
// The same contract for both: compare-and-set, a new version on every write, one winner of a race.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { KubernetesLeaseStore } from '../../src/adapters/status-configmap/kubernetes-lease-store.js';
import { FileLeaseStore } from '../../src/adapters/status-file/file-lease-store.js';
import { isLeaseConflict, type LeaseStore } from '../../src/application/ports/lease-store.js';
import type { LeaseRecord } from '../../src/domain/coordinator/lease.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { FakeKubeApi } from '../support/fake-kube-api.js';
import { RecordingLogger } from './support/test-logger.js';

const WALL = Date.parse('2025-01-02T03:04:05.678Z');

function record(holder: string, transitions = 0, renewedAtMs = WALL): LeaseRecord {
  return { holder, durationMs: 3_000, acquiredAtMs: WALL, renewedAtMs, transitions };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

interface Backend {
  /** A new store instance on the same lease (another process). */
  open(): LeaseStore;
  close(): Promise<void>;
}

function contract(name: string, start: () => Promise<Backend>) {
  const t = suite<{ backend: Backend }>(name, { backend: undefined as unknown as Backend });
  t.before.each(async (ctx) => {
    ctx.backend = await start();
  });
  t.after.each(async (ctx) => {
    await ctx.backend.close();
  });

  t('no lease yet: read is undefined; the first write creates it, a second creation conflicts', async ({ backend }) => {
    const a = backend.open();
    const b = backend.open();
    assert.is(await a.read(), undefined);
    const v1 = await a.write(record('a'), undefined, 5_000);
    assert.equal(await b.read(), { record: record('a'), version: v1 });
    const e = await rejection(b.write(record('b'), undefined, 5_000));
    assert.ok(isLeaseConflict(e), String(e));
    assert.equal((await a.read())?.record.holder, 'a', 'nothing was written');
  });

  t('compare-and-set: the expected version writes and moves the version even for the same record; a stale one conflicts', async ({ backend }) => {
    const a = backend.open();
    const b = backend.open();
    const v1 = await a.write(record('a'), undefined, 5_000);
    const v2 = await a.write(record('a', 0, WALL + 500), v1, 5_000);
    assert.is.not(v2, v1);
    const v3 = await a.write(record('a', 0, WALL + 500), v2, 5_000);
    assert.is.not(v3, v2, 'an identical record still gets a new version: a renewal must be visible');
    const e = await rejection(b.write(record('b', 1), v1, 5_000));
    assert.ok(isLeaseConflict(e), String(e));
    assert.equal(await b.read(), { record: record('a', 0, WALL + 500), version: v3 });
    // Released: no holder.
    const v4 = await a.write({ ...record('a', 0, WALL + 900), holder: '', durationMs: 1_000 }, v3, 5_000);
    assert.equal((await b.read())?.record, { ...record('a', 0, WALL + 900), holder: '', durationMs: 1_000 });
    await b.write(record('b', 1), v4, 5_000);
    assert.is((await a.read())?.record.holder, 'b');
  });

  t('a race from the same version has exactly one winner', async ({ backend }) => {
    const first = await backend.open().write(record('x'), undefined, 5_000);
    const stores = Array.from({ length: 6 }, () => backend.open());
    const results = await Promise.allSettled(stores.map((s, i) => s.write(record(`c${i}`, 1), first, 5_000)));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, version: r.value }] : []));
    assert.is(won.length, 1, JSON.stringify(results.map((r) => r.status)));
    for (const r of results) if (r.status === 'rejected') assert.ok(isLeaseConflict(r.reason), String(r.reason));
    assert.equal(await backend.open().read(), { record: record(`c${won[0]!.i}`, 1), version: won[0]!.version });
  });

  return t;
}

// ---- the file lease -------------------------------------------------------------------------------

const file = contract('file lease', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-lease-'));
  const logger = new RecordingLogger();
  return {
    open: () => new FileLeaseStore({ dir: join(dir, 'cluster-status.json.lease'), keep: 4 }, logger),
    close: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

file('old records are removed, the newest ones kept; a record with the expected number but another token is a conflict', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-lease-'));
  try {
    const leaseDir = join(dir, 'lease');
    const store = new FileLeaseStore({ dir: leaseDir, keep: 4 }, new RecordingLogger());
    let v = await store.write(record('a'), undefined, 1_000);
    for (let i = 0; i < 20; i++) v = await store.write(record('a', 0, WALL + i), v, 1_000);
    const names = readdirSync(leaseDir).sort();
    assert.equal(names, ['00000000000000000016', '00000000000000000017', '00000000000000000018', '00000000000000000019', '00000000000000000020']);
    // The newest record replaced behind the writer's back by one with the same number (a record
    // lost by the file server and re-created by someone else): the writer's version no longer matches.
    const newest = join(leaseDir, names.at(-1)!);
    writeFileSync(newest, JSON.stringify({ holderIdentity: 'b', leaseDurationMs: 3000, acquireTime: new Date(WALL).toISOString(), renewTime: new Date(WALL).toISOString(), leaseTransitions: 1, token: 'other' }));
    const e = await rejection(store.write(record('a'), v, 1_000));
    assert.ok(isLeaseConflict(e), String(e));
    assert.is((await store.read())?.record.holder, 'b');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

file('an unreadable newest record is an error, never a free lease', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'oxia-lease-'));
  try {
    const store = new FileLeaseStore({ dir, keep: 4 }, new RecordingLogger());
    await store.write(record('a'), undefined, 1_000);
    writeFileSync(join(dir, '00000000000000000001'), 'not json');
    const e = await rejection(store.read());
    assert.ok(isOxiaError(e, 'InvalidArgument'), String(e));
    assert.ok(isOxiaError(await rejection(store.write(record('b'), undefined, 1_000))), 'and nobody writes over it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

file.run();

// ---- the Kubernetes Lease -------------------------------------------------------------------------

let api: FakeKubeApi;
const openLease = (readTimeoutMs = 5_000): KubernetesLeaseStore =>
  new KubernetesLeaseStore({ kubeConfig: api.kubeConfig(), requestTimeoutMs: 5_000 }, { namespace: 'oxia', name: 'oxia-cluster-status', readTimeoutMs }, new RecordingLogger());

const kube = contract('Kubernetes Lease', async () => {
  api = await FakeKubeApi.start();
  return { open: () => openLease(), close: () => api.close() };
});

kube('the Lease has client-go leader election\'s fields; times as MicroTime; replaces are conditional on the resourceVersion', async () => {
  const store = openLease();
  const v1 = await store.write({ ...record('a'), durationMs: 2_500 }, undefined, 5_000);
  const lease = api.get('leases', 'oxia', 'oxia-cluster-status')!;
  assert.is(lease.apiVersion, 'coordination.k8s.io/v1');
  assert.is(lease.kind, 'Lease');
  assert.equal(lease.spec, {
    holderIdentity: 'a',
    leaseDurationSeconds: 3,
    acquireTime: '2025-01-02T03:04:05.678000Z',
    renewTime: '2025-01-02T03:04:05.678000Z',
    leaseTransitions: 0,
  });
  assert.is(lease.metadata.resourceVersion, v1);
  // Timeouts are what is left of a deadline, not whole milliseconds.
  await store.write(record('a', 0, WALL + 1), v1, 1234.567);
  const writes = api.requests.filter((r) => r.path.includes('/leases') && (r.method === 'PUT' || r.method === 'POST'));
  assert.equal(writes.map((r) => r.method), ['POST', 'PUT']);
  assert.ok(writes.every((r) => r.path.startsWith('/apis/coordination.k8s.io/v1/namespaces/oxia/leases')));
  assert.is(writes[1]!.body!.metadata.resourceVersion, v1);
});

kube('labels and annotations someone put on the Lease are kept', async () => {
  const store = openLease();
  await store.write(record('a'), undefined, 5_000);
  const lease = api.get('leases', 'oxia', 'oxia-cluster-status')!;
  api.apply('leases', 'oxia', { ...lease, metadata: { ...lease.metadata, labels: { team: 'storage' } } });
  const seen = await store.read();
  await store.write(record('a', 0, WALL + 1), seen!.version, 5_000);
  assert.equal(api.get('leases', 'oxia', 'oxia-cluster-status')!.metadata.labels, { team: 'storage' });
});

kube('a lost answer is settled by reading back: written means a new version, not written means unavailable', async () => {
  const store = openLease();
  const v1 = await store.write(record('a'), undefined, 5_000);
  api.failNext('PUT', 'leases', 1, 503, true);
  const v2 = await store.write(record('a', 0, WALL + 10), v1, 5_000);
  assert.is.not(v2, v1);
  assert.is(api.get('leases', 'oxia', 'oxia-cluster-status')!.metadata.resourceVersion, v2, 'the write that happened is ours');

  api.failNext('PUT', 'leases', 1, 503, false);
  const e = await rejection(store.write(record('a', 0, WALL + 20), v2, 5_000));
  assert.ok(isOxiaError(e, 'ResourceUnavailable') && !isLeaseConflict(e), String(e));

  // Someone else wrote meanwhile: a conflict.
  const other = openLease();
  await other.write(record('b', 1), v2, 5_000);
  api.failNext('PUT', 'leases', 1, 503, false);
  assert.ok(isLeaseConflict(await rejection(store.write(record('a', 0, WALL + 30), v2, 5_000))));
});

kube('a stalled API server: reads and writes give up within their timeouts', async () => {
  const store = openLease(300);
  await store.write(record('a'), undefined, 5_000);
  api.stallNext('GET', 'leases', 1);
  const started = Date.now();
  assert.ok(isOxiaError(await rejection(store.read()), 'ResourceUnavailable'));
  api.stallNext('PUT', 'leases', 2);
  const seen = (await store.read())!;
  assert.ok(isOxiaError(await rejection(store.write(record('a', 0, WALL + 1), seen.version, 300)), 'ResourceUnavailable'));
  assert.ok(Date.now() - started < 30_000, 'bounded');
});

kube.run();
