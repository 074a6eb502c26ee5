// The coordinator process with its Kubernetes adapters: cluster config from a ConfigMap
// (--conf configmap:<ns>/<name>), cluster status in a ConfigMap (--metadata configmap), against
// the API server of tests/support/fake-kube-api.ts (no real API server can run here, ADR 0008),
// with real `oxia-ts server` processes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeClusterStatus } from '../../src/domain/cluster/cluster-status-codec.js';
import { TestCluster } from '../support/cluster.js';
import { configMapObject, FakeKubeApi } from '../support/fake-kube-api.js';
import { waitFor } from '../support/wait.js';

test('config and status in ConfigMaps: shards elected, status stored with its resourceVersion, a namespace added by editing the ConfigMap, a second coordinator leaves a live one in charge, a third takes over a dead one', async () => {
  const api = await FakeKubeApi.start();
  let cluster: TestCluster | undefined;
  try {
    cluster = await TestCluster.start({
      nodes: 3,
      namespaces: [{ name: 'default', shards: 2, rf: 3 }],
      withoutCoordinator: true,
      coordinatorArgs: ['--conf', 'configmap:oxia/cluster-config', '--metadata', 'configmap', '--k8s-namespace', 'oxia', '--k8s-configmap-name', 'oxia-status'],
    });
    // The coordinator finds the fake API server through $KUBECONFIG, as kubectl would.
    const kubeconfig = join(cluster.dir, 'kubeconfig');
    writeFileSync(kubeconfig, api.kubeConfig().exportConfig());
    process.env.KUBECONFIG = kubeconfig;
    const yaml = readFileSync(cluster.configPath, 'utf8');
    api.apply('configmaps', 'oxia', configMapObject('cluster-config', { 'config.yaml': yaml }));

    const first = await cluster.startCoordinator();
    await cluster.leaders('default');
    const stored = () => {
      const cm = api.get('configmaps', 'oxia', 'oxia-status');
      return cm ? decodeClusterStatus((cm as unknown as { data: { status: string } }).data.status) : undefined;
    };
    const status = stored()!;
    assert.is(status.namespaces.get('default')!.shards.size, 2);
    for (const s of status.namespaces.get('default')!.shards.values()) assert.is(s.status, 'SteadyState');

    api.apply(
      'configmaps',
      'oxia',
      configMapObject('cluster-config', { 'config.yaml': yaml.replace('namespaces:\n', 'namespaces:\n  - name: other\n    initialShardCount: 1\n    replicationFactor: 2\n') }),
    );
    await waitFor(() => stored()?.namespaces.get('other')?.shards.get(2n)?.status === 'SteadyState', 'the namespace added in the ConfigMap', 30_000);

    // A second coordinator sees the first one's heartbeats move the resourceVersion and leaves.
    const second = await cluster.startCoordinator().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.match(String(second), /code 1\b/, 'the second coordinator exited with 1 before serving');
    assert.ok(first.running, 'the first coordinator is still in charge');
    // Once the first is gone for good, a new one takes the ConfigMap over.
    await first.kill9();
    const third = await cluster.startCoordinator();
    assert.ok(third.running, 'a coordinator took over the abandoned status');
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster?.logs() ?? ''}`);
  } finally {
    await cluster?.close();
    await api.close();
  }
});

test.run();
