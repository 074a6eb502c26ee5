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
import { CLAIMED, logged, STANDING_BY } from './support/coordinators.js';

test('config and status in ConfigMaps: shards elected, status stored with its resourceVersion, a namespace added by editing the ConfigMap, a second coordinator stands by on the Lease and takes over a dead one', async () => {
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

    // A second coordinator stands by while the first holds the Lease, and takes over once it is gone.
    const second = await cluster.startCoordinator();
    await waitFor(() => logged(second, STANDING_BY).length > 0, 'the second coordinator stands by', 30_000);
    assert.ok(first.running, 'the first coordinator is still in charge');
    const lease = () => api.get('leases', 'oxia', 'oxia-status')?.['spec'] as { holderIdentity: string; leaseTransitions: number } | undefined;
    assert.is(lease()?.holderIdentity, String(first.serving.leaseHolder));
    await first.kill9();
    await waitFor(() => logged(second, CLAIMED).length > 0, 'the second took the abandoned status over', 30_000);
    assert.equal(lease(), { ...lease(), holderIdentity: String(second.serving.leaseHolder), leaseTransitions: 1 });
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${cluster?.logs() ?? ''}`);
  } finally {
    await cluster?.close();
    await api.close();
  }
});

test.run();
