import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigMapClusterStatusStore } from '../../src/adapters/status-configmap/configmap-cluster-status-store.js';
import type { KubernetesConnection } from '../../src/adapters/kubernetes/kubernetes-connection.js';
import type { ClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { emptyClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { encodeClusterStatus } from '../../src/domain/cluster/cluster-status-codec.js';
import { StatusVersionConflict } from '../../src/domain/cluster/status-conflict.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { configMapObject, FakeKubeApi } from '../support/fake-kube-api.js';
import { RecordingLogger } from './support/test-logger.js';

const NS = 'oxia';
const NAME = 'oxia-cluster-status';
let api: FakeKubeApi;
let logger: RecordingLogger;

const withGenerator = (n: bigint): ClusterStatus => ({ ...emptyClusterStatus(), shardIdGenerator: n });

function openStore(connection: Partial<KubernetesConnection> = {}): ConfigMapClusterStatusStore {
  return new ConfigMapClusterStatusStore({ kubeConfig: api.kubeConfig(), requestTimeoutMs: 5_000, ...connection }, { namespace: NS, name: NAME }, logger);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.unreachable('expected a rejection');
  throw new Error('unreachable');
}

test.before.each(async () => {
  api = await FakeKubeApi.start();
  logger = new RecordingLogger();
});
test.after.each(async () => {
  await api.close();
});

test('creates the ConfigMap when absent, then updates it; data.status is the status JSON', async () => {
  const store = openStore();
  assert.is(await store.load(), undefined);
  const v1 = await store.store(withGenerator(1n), undefined);
  const cm = api.get('configmaps', NS, NAME)!;
  assert.is(v1, cm.metadata.resourceVersion);
  assert.equal(cm.data, { status: '{"namespaces":{},"shardIdGenerator":1,"serverIdx":0}' });

  const v2 = await store.store(withGenerator(2n), v1);
  assert.is.not(v2, v1);
  assert.equal(await openStore().load(), { status: withGenerator(2n), version: v2 });
  const writes = api.requests.filter((r) => r.method === 'PUT' || r.method === 'POST');
  assert.equal(writes.map((r) => r.method), ['POST', 'PUT']);
  assert.is(writes[1]!.body!.metadata.resourceVersion, v1, 'the replace is conditional on the version read');
});

test('a stale version fails with a conflict and never overwrites', async () => {
  const a = openStore();
  const b = openStore();
  const v1 = await a.store(withGenerator(1n), undefined);
  const v2 = await b.store(withGenerator(2n), v1);
  const before = api.get('configmaps', NS, NAME);

  const e = await rejection(a.store(withGenerator(99n), v1));
  assert.instance(e, StatusVersionConflict);
  assert.ok(isOxiaError(e, 'ResourceConflict'));
  assert.equal((e as StatusVersionConflict).found, { version: v2 });
  assert.match(e.message, /ConfigMap oxia\/oxia-cluster-status was changed by another writer/);
  const create = await rejection(a.store(withGenerator(99n), undefined));
  assert.instance(create, StatusVersionConflict);
  assert.equal(api.get('configmaps', NS, NAME), before, 'the ConfigMap is untouched');
  for (const r of api.requests.filter((r) => r.method === 'PUT')) assert.ok(r.body?.metadata.resourceVersion, 'no unconditional replace');
});

test('an unchanged status written again still moves the resourceVersion, so a coordinator\'s claim fences its predecessor', async () => {
  const predecessor = openStore();
  const successor = openStore();
  const v1 = await predecessor.store(withGenerator(1n), undefined);
  // The successor claims what it read, unchanged; the API server skips updates that change nothing.
  const loaded = (await successor.load())!;
  const v2 = await successor.store(loaded.status, loaded.version);
  assert.is.not(v2, v1);
  const e = await rejection(predecessor.store(withGenerator(2n), v1));
  assert.instance(e, StatusVersionConflict);
  assert.equal((await successor.load())!.status, withGenerator(1n));
});

test('two coordinators writing from the same version: one wins, the other gets 409 as a conflict', async () => {
  const stores = [openStore(), openStore(), openStore()];
  const v = await stores[0]!.store(withGenerator(1n), undefined);
  const results = await Promise.allSettled(stores.map((s, i) => s.store(withGenerator(10n + BigInt(i)), v)));
  const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  assert.is(won.length, 1);
  for (const r of results) if (r.status === 'rejected') assert.instance(r.reason, StatusVersionConflict);
  assert.equal((await stores[0]!.load())!.status, withGenerator(10n + BigInt(won[0]!)));
  // All three read the same version before any wrote, so the losers were refused by the API server itself.
  const puts = api.requests.filter((r) => r.method === 'PUT');
  assert.is(puts.length, 3);
});

test('a ConfigMap created first by someone else is a conflict; one created empty gets the status, keeping its other keys', async () => {
  api.apply('configmaps', NS, { metadata: { name: NAME }, data: { status: encodeClusterStatus(withGenerator(7n)) } });
  const e = await rejection(openStore().store(withGenerator(1n), undefined));
  assert.instance(e, StatusVersionConflict);
  assert.equal((await openStore().load())!.status, withGenerator(7n));

  api.remove('configmaps', NS, NAME);
  api.apply('configmaps', NS, { metadata: { name: NAME, labels: { app: 'oxia' } }, data: { note: 'managed by helm' } });
  const v = await openStore().store(withGenerator(1n), undefined);
  const cm = api.get('configmaps', NS, NAME)!;
  assert.is(cm.metadata.resourceVersion, v);
  assert.equal(cm.metadata.labels, { app: 'oxia' });
  assert.equal(cm.data, { note: 'managed by helm', status: encodeClusterStatus(withGenerator(1n)) });
  await openStore().store(withGenerator(2n), v);
  assert.equal((api.get('configmaps', NS, NAME)!.data as Record<string, string>).note, 'managed by helm');
});

test('a deleted ConfigMap is a conflict for a writer that expected a version', async () => {
  const store = openStore();
  const v = await store.store(withGenerator(1n), undefined);
  api.remove('configmaps', NS, NAME);
  const e = await rejection(store.store(withGenerator(2n), v));
  assert.instance(e, StatusVersionConflict);
  assert.is((e as StatusVersionConflict).found, 'absent');
  assert.is(api.get('configmaps', NS, NAME), undefined, 'not re-created');
});

test('a lost answer to an applied write is recognised by reading back', async () => {
  const store = openStore();
  const v1 = await store.store(withGenerator(1n), undefined);
  api.failNext('PUT', 'configmaps', 1, 500, true);
  const v2 = await store.store(withGenerator(2n), v1);
  assert.is(v2, api.get('configmaps', NS, NAME)!.metadata.resourceVersion);
  assert.equal(await store.load(), { status: withGenerator(2n), version: v2 });
  assert.ok(logger.messages('warn').some((m) => /answer to a cluster status write was lost/.test(m)));

  api.failNext('POST', 'configmaps', 1, 503, true);
  api.remove('configmaps', NS, NAME);
  const created = await store.store(withGenerator(3n), undefined);
  assert.is(created, api.get('configmaps', NS, NAME)!.metadata.resourceVersion);
});

test('a failed write that did not happen is ResourceUnavailable, and retrying with the same version works', async () => {
  const store = openStore();
  const v1 = await store.store(withGenerator(1n), undefined);
  api.failNext('PUT', 'configmaps', 1, 503);
  const e = await rejection(store.store(withGenerator(2n), v1));
  assert.ok(isOxiaError(e, 'ResourceUnavailable'), String(e));
  assert.match(e.message, /failed and did not happen \(retrying is safe\)/);
  assert.is(api.get('configmaps', NS, NAME)!.metadata.resourceVersion, v1);
  await store.store(withGenerator(2n), v1);

  api.failNext('PUT', 'configmaps', 1, 403);
  const refused = await rejection(store.store(withGenerator(3n), (await store.load())!.version));
  assert.ok(isOxiaError(refused, 'ResourceUnavailable'));
  assert.match(refused.message, /was refused: HTTP 403/);
});

test('a hung API server is given up on after the request timeout', async () => {
  const store = openStore({ requestTimeoutMs: 300 });
  const v1 = await store.store(withGenerator(1n), undefined);
  api.stallNext('PUT', 'configmaps', 1);
  const started = Date.now();
  const e = await rejection(store.store(withGenerator(2n), v1));
  assert.ok(isOxiaError(e, 'ResourceUnavailable'), String(e));
  assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
  api.stallNext('GET', 'configmaps', 1);
  const r = await rejection(store.load());
  assert.ok(isOxiaError(r, 'ResourceUnavailable'), String(r));
  assert.match(r.message, /reading ConfigMap oxia\/oxia-cluster-status/);
});

test('an unreadable status is reported, not overwritten', async () => {
  api.apply('configmaps', NS, configMapObject(NAME, { status: '{"namespaces":' }));
  const e = await rejection(openStore().load());
  assert.ok(isOxiaError(e, 'InvalidArgument'));
  assert.match(e.message, /ConfigMap oxia\/oxia-cluster-status key "status" cannot be used.*not valid JSON/);
  const c = await rejection(openStore().store(withGenerator(1n), undefined));
  assert.instance(c, StatusVersionConflict);
  assert.is((api.get('configmaps', NS, NAME)!.data as Record<string, string>).status, '{"namespaces":');
});

test('an unreachable API server is ResourceUnavailable', async () => {
  const store = openStore();
  await api.close();
  api = await FakeKubeApi.start();
  const e = await rejection(store.load());
  assert.ok(isOxiaError(e, 'ResourceUnavailable'), String(e));
});

test.run();
