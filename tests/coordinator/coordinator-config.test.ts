// `oxia-ts coordinator` settings: Oxia's flags and defaults, errors that name the flag, usage
// errors exit 2 before anything starts.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OXIA_TS_BIN } from '../../src/bootstrap/dev-cluster/role-process.js';
import { ConfigError } from '../../src/bootstrap/config/option-table.js';
import { parseCoordinatorConfig } from '../../src/bootstrap/config/coordinator-config.js';
import { coordinatorSettingsOf } from '../../src/bootstrap/containers/coordinator-container.js';

test('defaults: file metadata at data/cluster-status.json as Oxia, health checks every 200 ms, down after 1.2 s unanswered (ADR 0024), static discovery', () => {
  const c = parseCoordinatorConfig({ conf: 'cluster.yaml' });
  assert.equal(c.clusterConfig, { kind: 'file', path: 'cluster.yaml' });
  assert.is(c.metadata, 'file');
  assert.is(c.statusFilePath, 'data/cluster-status.json');
  assert.is(c.k8sStatusConfigMap, 'oxia-cluster-status');
  assert.is(c.discovery, 'static');
  assert.equal([c.healthCheckIntervalMs, c.healthCheckTimeoutMs, c.healthCheckFailureThreshold], [200, 1_200, 3]);
  const settings = coordinatorSettingsOf(parseCoordinatorConfig({ conf: 'x.yaml', 'health-check-interval': '500ms', 'health-check-failure-threshold': '5' }));
  assert.equal([settings.healthCheckIntervalMs, settings.healthCheckFailureThreshold], [500, 5]);
});

test('a ConfigMap as the cluster config and as the status store', () => {
  const c = parseCoordinatorConfig({ conf: 'configmap:oxia/cluster-config', metadata: 'configmap', 'k8s-namespace': 'oxia', 'k8s-configmap-name': 'status' });
  assert.equal(c.clusterConfig, { kind: 'configmap', namespace: 'oxia', name: 'cluster-config' });
  assert.equal([c.metadata, c.k8sNamespace, c.k8sStatusConfigMap], ['configmap', 'oxia', 'status']);
});

test('the coordinator lease: 3 s lasting, renewed within 2 s, every 500 ms; the holder must stop before others may take over', () => {
  assert.equal(parseCoordinatorConfig({ conf: 'x.yaml' }).lease, { durationMs: 3_000, renewDeadlineMs: 2_000, retryPeriodMs: 500 });
  const c = parseCoordinatorConfig({ conf: 'x.yaml', 'lease-duration': '15s', 'lease-renew-deadline': '10s', 'lease-retry-period': '2s' });
  assert.equal(c.lease, { durationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 });
  assert.throws(() => parseCoordinatorConfig({ conf: 'x.yaml', 'lease-duration': '2s', 'lease-renew-deadline': '2s' }), /--lease-duration.*longer than the renew deadline/);
  assert.throws(() => parseCoordinatorConfig({ conf: 'x.yaml', 'lease-retry-period': '3s' }), /longer than the retry period/);
  // A Kubernetes Lease counts whole seconds; a file lease does not.
  assert.throws(() => parseCoordinatorConfig({ conf: 'x.yaml', metadata: 'configmap', 'lease-duration': '2500ms', 'lease-renew-deadline': '1s' }), /whole seconds/);
  assert.is(parseCoordinatorConfig({ conf: 'x.yaml', 'lease-duration': '2500ms', 'lease-renew-deadline': '1s' }).lease.durationMs, 2_500);
});

test('the web console: off unless --console-addr is given; a bad address names the flag', () => {
  assert.is(parseCoordinatorConfig({ conf: 'x.yaml' }).consoleAddr, undefined);
  assert.equal(parseCoordinatorConfig({ conf: 'x.yaml', 'console-addr': '127.0.0.1:6652' }).consoleAddr, { host: '127.0.0.1', port: 6652 });
  assert.throws(() => parseCoordinatorConfig({ conf: 'x.yaml', 'console-addr': 'nowhere' }), /--console-addr/);
});

test('every problem names its flag', () => {
  try {
    parseCoordinatorConfig({ metadata: 'etcd', 'health-check-interval': 'soon', 'internal-addr': 'nowhere' });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ConfigError);
    const text = (e as ConfigError).message;
    for (const flag of ['--conf', '--metadata', '--health-check-interval', '--internal-addr']) assert.match(text, flag);
  }
  assert.throws(() => parseCoordinatorConfig({ conf: 'configmap:only-a-namespace' }), /configmap:<namespace>\/<name>/);
});

test('the CLI refuses bad usage with exit 2 and a message naming the flag', () => {
  const r = spawnSync(process.execPath, [OXIA_TS_BIN, 'coordinator', '--conf', 'x.yaml', '--discovery', 'dns'], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 2);
  assert.match(r.stderr, /--discovery: must be one of static, kubernetes/);
  const missing = spawnSync(process.execPath, [OXIA_TS_BIN, 'coordinator', '--conf', '/nonexistent/cluster.yaml', '--internal-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.is(missing.status, 1, 'a config that cannot be read is a start failure');
  assert.match(missing.stderr, /cluster config file \/nonexistent\/cluster.yaml does not exist/);
});

test.run();
