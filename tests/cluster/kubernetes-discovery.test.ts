import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { KubernetesNodeDiscovery, type KubernetesDiscoveryOptions } from '../../src/adapters/discovery-kubernetes/kubernetes-node-discovery.js';
import type { NodeAddress } from '../../src/domain/cluster/node-address.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { FakeKubeApi, podObject } from '../support/fake-kube-api.js';
import { waitFor } from '../support/wait.js';
import { RecordingLogger } from './support/test-logger.js';

const NS = 'oxia';
const LABELS = { app: 'oxia', component: 'server' };
let api: FakeKubeApi;
let logger: RecordingLogger;
const open: KubernetesNodeDiscovery[] = [];

function discovery(options: Partial<KubernetesDiscoveryOptions> = {}): KubernetesNodeDiscovery {
  const d = new KubernetesNodeDiscovery(
    { kubeConfig: api.kubeConfig(), requestTimeoutMs: 2_000, retryDelayMs: 20, retryDelayMsMax: 200 },
    { namespace: NS, labelSelector: 'app=oxia,component=server', serviceName: 'oxia-svc', absentGraceMs: 0, startTimeoutMs: 10_000, ...options },
    logger,
  );
  open.push(d);
  return d;
}

function recorder(d: KubernetesNodeDiscovery): (readonly NodeAddress[])[] {
  const seen: (readonly NodeAddress[])[] = [];
  d.watch((nodes) => seen.push(nodes));
  return seen;
}

const names = (nodes: readonly NodeAddress[]): string[] => nodes.map((n) => n.name!);

test.before.each(async () => {
  api = await FakeKubeApi.start();
  logger = new RecordingLogger();
});
test.after.each(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
  await api.close();
});

test('lists the StatefulSet pods as nodes with their stable DNS names', async () => {
  api.apply('pods', NS, podObject('oxia-0', LABELS));
  api.apply('pods', NS, podObject('oxia-1', LABELS, { ports: [{ name: 'public', containerPort: 7000 }, { name: 'internal', containerPort: 7001 }] }));
  api.apply('pods', NS, podObject('oxia-2', LABELS, { phase: 'Pending' }));
  api.apply('pods', NS, podObject('coordinator-0', { app: 'oxia', component: 'coordinator' }));
  api.apply('pods', 'elsewhere', podObject('oxia-9', LABELS));
  const d = discovery();
  await d.start();
  assert.equal(d.current(), [
    { name: 'oxia-0', public: 'oxia-0.oxia-svc.oxia.svc.cluster.local:6648', internal: 'oxia-0.oxia-svc.oxia.svc.cluster.local:6649' },
    { name: 'oxia-1', public: 'oxia-1.oxia-svc.oxia.svc.cluster.local:7000', internal: 'oxia-1.oxia-svc.oxia.svc.cluster.local:7001' },
    { name: 'oxia-2', public: 'oxia-2.oxia-svc.oxia.svc.cluster.local:6648', internal: 'oxia-2.oxia-svc.oxia.svc.cluster.local:6649' },
  ]);
  const list = api.requests.find((r) => r.method === 'GET' && r.path === '/api/v1/namespaces/oxia/pods' && r.query.watch === undefined);
  assert.is(list?.query.labelSelector, 'app=oxia,component=server');
});

test('pods added and removed are seen through the watch', async () => {
  api.apply('pods', NS, podObject('oxia-0', LABELS));
  const d = discovery();
  await d.start();
  const seen = recorder(d);
  await waitFor(() => api.openWatches('pods') === 1, 'the watch to be open');
  api.apply('pods', NS, podObject('oxia-1', LABELS));
  await waitFor(() => seen.length === 1, 'the added pod');
  assert.equal(names(seen[0]!), ['oxia-0', 'oxia-1']);
  api.apply('pods', NS, podObject('oxia-2', LABELS));
  api.remove('pods', NS, 'oxia-0');
  await waitFor(() => names(d.current()).join() === 'oxia-1,oxia-2', 'the removal');
  // A pod whose labels no longer match leaves the set; a status change alone changes nothing.
  api.apply('pods', NS, podObject('oxia-1', { app: 'oxia', component: 'other' }));
  await waitFor(() => names(d.current()).join() === 'oxia-2', 'the relabelled pod to leave');
  const before = seen.length;
  api.apply('pods', NS, podObject('oxia-2', LABELS, { phase: 'Failed' }));
  api.apply('pods', NS, podObject('oxia-3', LABELS));
  await waitFor(() => seen.length === before + 1, 'the next change');
  assert.equal(names(seen.at(-1)!), ['oxia-2', 'oxia-3'], 'no notification for the phase change, one for the new pod');
});

test('a terminating pod leaves after the grace period, a pod recreated within it never leaves', async () => {
  for (const n of ['oxia-0', 'oxia-1', 'oxia-2']) api.apply('pods', NS, podObject(n, LABELS));
  const d = discovery({ absentGraceMs: 1_500 });
  await d.start();
  const seen = recorder(d);
  await waitFor(() => api.openWatches('pods') === 1, 'the watch to be open');

  // Rolling restart of oxia-1: terminating, deleted, recreated under the same name.
  const terminating = podObject('oxia-1', LABELS);
  terminating.metadata.deletionTimestamp = new Date().toISOString();
  api.apply('pods', NS, terminating);
  api.remove('pods', NS, 'oxia-1');
  api.apply('pods', NS, podObject('oxia-1', LABELS));
  // Scale-down of oxia-2: gone for good.
  const started = Date.now();
  api.remove('pods', NS, 'oxia-2');
  await waitFor(() => seen.length > 0, 'oxia-2 to leave after the grace period');
  assert.ok(Date.now() - started >= 1_400, `left after ${Date.now() - started} ms, before its grace period`);
  assert.equal(seen.map(names), [['oxia-0', 'oxia-1']], 'oxia-1 never left');
});

test('the watch is re-established after the server drops it, and a too-old version makes it list again', async () => {
  api.apply('pods', NS, podObject('oxia-0', LABELS));
  const d = discovery();
  await d.start();
  await waitFor(() => api.openWatches('pods') === 1, 'the watch to be open');

  assert.is(api.closeWatches(), 1);
  api.apply('pods', NS, podObject('oxia-1', LABELS));
  await waitFor(() => names(d.current()).join() === 'oxia-0,oxia-1', 'the change made while the watch was down');
  await waitFor(() => api.openWatches('pods') === 1, 'the watch to be open again');

  // The API server forgets the history the client would resume from: 410, then a fresh list.
  const lists = () => api.requests.filter((r) => r.path.endsWith('/pods') && r.query.watch === undefined).length;
  const listsBefore = lists();
  api.closeWatches();
  api.apply('pods', NS, podObject('oxia-2', LABELS));
  api.remove('pods', NS, 'oxia-0');
  api.compactHistory();
  await waitFor(() => names(d.current()).join() === 'oxia-1,oxia-2', 'the state after the relist');
  assert.is(lists(), listsBefore + 1);
  assert.ok(logger.messages('info').some((m) => /fell behind the API server's history; listing again/.test(m)));
  await waitFor(() => api.openWatches('pods') === 1, 'the watch to be open again');
  api.apply('pods', NS, podObject('oxia-3', LABELS));
  await waitFor(() => names(d.current()).join() === 'oxia-1,oxia-2,oxia-3', 'changes after the relist');
});

test('discovery survives API errors and starts failing only when it cannot list at all', async () => {
  api.apply('pods', NS, podObject('oxia-0', LABELS));
  api.failNext('GET', 'pods', 2, 503);
  const d = discovery();
  await d.start();
  assert.equal(names(d.current()), ['oxia-0']);
  assert.ok(logger.messages('warn').some((m) => /listing pods app=oxia,component=server in namespace oxia failed; retrying/.test(m)));

  await api.close();
  api = await FakeKubeApi.start();
  const unreachable = new KubernetesNodeDiscovery(
    { kubeConfig: (await FakeKubeApi.start().then(async (other) => (await other.close(), other))).kubeConfig(), requestTimeoutMs: 500, retryDelayMs: 20 },
    { namespace: NS, labelSelector: 'app=oxia', serviceName: 'oxia-svc', startTimeoutMs: 500 },
    logger,
  );
  try {
    await unreachable.start();
    assert.unreachable('nothing to list from');
  } catch (e) {
    assert.ok(isOxiaError(e, 'ResourceUnavailable'), String(e));
    assert.match((e as Error).message, /could not list pods app=oxia in namespace oxia within 500 ms: .*ECONNREFUSED/);
  }
  await unreachable.close();
});

test.run();
