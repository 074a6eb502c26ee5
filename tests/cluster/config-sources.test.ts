import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigMapClusterConfigSource } from '../../src/adapters/cluster-config/configmap-cluster-config-source.js';
import { FileClusterConfigSource } from '../../src/adapters/cluster-config/file-cluster-config-source.js';
import { StaticNodeDiscovery } from '../../src/adapters/discovery-static/static-node-discovery.js';
import type { ClusterConfigSource } from '../../src/application/ports/cluster-config-source.js';
import type { ClusterConfig } from '../../src/domain/cluster/cluster-config.js';
import type { NodeAddress } from '../../src/domain/cluster/node-address.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';
import { configMapObject, FakeKubeApi } from '../support/fake-kube-api.js';
import { waitFor } from '../support/wait.js';
import { RecordingLogger } from './support/test-logger.js';

const configYaml = (shards: number, servers: number[] = [0, 1, 2]) => `
namespaces:
  - name: default
    initialShardCount: ${shards}
    replicationFactor: 3
servers:
${servers.map((i) => `  - {public: "node-${i}:6648", internal: "node-${i}:6649"}`).join('\n')}
`;

const closers: (() => Promise<void> | void)[] = [];
let logger: RecordingLogger;

test.before.each(() => {
  logger = new RecordingLogger();
});
test.after.each(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'oxia-cluster-config-'));
  closers.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

function fileSource(path: string, pollIntervalMs = 60_000): FileClusterConfigSource {
  const s = new FileClusterConfigSource({ path, serversRequired: true, pollIntervalMs }, logger);
  closers.push(() => s.close());
  return s;
}

function recorder<T>(subscribe: (l: (v: T) => void) => unknown): T[] {
  const seen: T[] = [];
  subscribe((v) => seen.push(v));
  return seen;
}

const shardsOf = (c: ClusterConfig): number => c.namespaces[0]!.initialShardCount;

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  assert.unreachable('expected a rejection');
  throw new Error('unreachable');
}

// ------------------------------------------------------------------------------- file

test('file: loads, then follows edits in place and by rename', async () => {
  const path = join(tempDir(), 'cluster.yaml');
  writeFileSync(path, configYaml(1));
  const source = fileSource(path);
  await source.start();
  assert.is(shardsOf(source.current()), 1);
  const seen = recorder<ClusterConfig>((l) => source.watch(l));

  writeFileSync(path, configYaml(2));
  await waitFor(() => seen.length === 1, 'the in-place edit');
  assert.is(shardsOf(seen[0]!), 2);
  // Editors and config tools write a copy and rename it over the file.
  writeFileSync(`${path}.new`, configYaml(3));
  renameSync(`${path}.new`, path);
  await waitFor(() => seen.length === 2, 'the replaced file');
  assert.is(shardsOf(source.current()), 3);
});

test('file: an invalid edit is logged and ignored, a comment-only edit notifies nobody', async () => {
  const path = join(tempDir(), 'cluster.yaml');
  writeFileSync(path, configYaml(1));
  const source = fileSource(path, 50);
  await source.start();
  const seen = recorder<ClusterConfig>((l) => source.watch(l));
  // What a poll does, run by hand so that the test knows how many re-reads happened.
  const reread = (): Promise<void> => (source as unknown as { reload(): Promise<void> }).reload();
  const lastText = (): string | undefined => (source as unknown as { lastText?: string }).lastText;

  const invalid = configYaml(1).replace('replicationFactor: 3', 'replicationFactor: 4');
  writeFileSync(path, invalid);
  await waitFor(() => logger.messages('error').length === 1, 'the invalid edit to be reported');
  assert.match(String(logger.records.find((r) => r.level === 'error')!.fields.error), /replicationFactor: namespace "default" needs 4 servers but only 3 are configured/);
  assert.is(shardsOf(source.current()), 1);
  for (let i = 0; i < 3; i++) await reread();
  assert.is(logger.messages('error').length, 1, 'the invalid text is reported once, not at every poll');

  const commented = `# a comment\n${configYaml(1)}`;
  writeFileSync(path, commented);
  await waitFor(() => lastText() === commented, 'the comment-only edit to be read');
  assert.is(seen.length, 0, 'a config equal to the current one is not announced');
  writeFileSync(path, `# a comment\n${configYaml(5)}`);
  await waitFor(() => seen.length === 1, 'the next valid edit');
  assert.is(shardsOf(seen[0]!), 5);
});

test('file: polling alone finds edits when events are missed', async () => {
  const path = join(tempDir(), 'cluster.yaml');
  writeFileSync(path, configYaml(1));
  const source = fileSource(path, 100);
  await source.start();
  (source as unknown as { watcher?: { close(): void } }).watcher?.close();
  const seen = recorder<ClusterConfig>((l) => source.watch(l));
  writeFileSync(path, configYaml(2));
  await waitFor(() => seen.length === 1, 'the poll to find the edit');
});

test('file: a missing or invalid file fails start with a clear error', async () => {
  const dir = tempDir();
  const missing = await rejection(fileSource(join(dir, 'nope.yaml')).start());
  assert.ok(isOxiaError(missing, 'InvalidArgument'));
  assert.match(missing.message, /cluster config file .*nope\.yaml does not exist/);
  const path = join(dir, 'bad.yaml');
  writeFileSync(path, 'namespaces: [{name: default, initialShardCount: 1, replicationFactor: 1}]\nservers: []');
  const bad = await rejection(fileSource(path).start());
  assert.match(bad.message, /invalid cluster config in .*bad\.yaml:\n[\s\S]*\n {2}servers: at least one server is required/);
});

// ------------------------------------------------------------------------------- static discovery

test('static discovery: the config servers, following config edits', async () => {
  const path = join(tempDir(), 'cluster.yaml');
  writeFileSync(path, configYaml(1, [2, 0, 1]));
  const source = fileSource(path);
  await source.start();
  const discovery = new StaticNodeDiscovery(source, logger);
  closers.push(() => discovery.close());
  await discovery.start();
  assert.equal(discovery.current(), [0, 1, 2].map((i) => ({ public: `node-${i}:6648`, internal: `node-${i}:6649` })));
  const seen = recorder<readonly NodeAddress[]>((l) => discovery.watch(l));

  writeFileSync(path, configYaml(2, [0, 1, 2]));
  await waitFor(() => shardsOf(source.current()) === 2, 'the config edit');
  assert.is(seen.length, 0, 'same servers: no discovery change');
  writeFileSync(path, configYaml(2, [0, 1, 2, 3]));
  await waitFor(() => seen.length === 1, 'the added server');
  assert.equal(seen[0]!.map((n) => n.internal), ['node-0:6649', 'node-1:6649', 'node-2:6649', 'node-3:6649']);
  writeFileSync(path, configYaml(2, [1, 2, 3]));
  await waitFor(() => seen.length === 2, 'the removed server');
  assert.equal(discovery.current().map((n) => n.internal), ['node-1:6649', 'node-2:6649', 'node-3:6649']);
});

// ------------------------------------------------------------------------------- ConfigMap

const NS = 'oxia';
const CM = 'oxia-cluster-config';

async function configMapSource(api: FakeKubeApi, startTimeoutMs = 10_000): Promise<ConfigMapClusterConfigSource> {
  const s = new ConfigMapClusterConfigSource(
    { kubeConfig: api.kubeConfig(), requestTimeoutMs: 2_000, retryDelayMs: 20, retryDelayMsMax: 200 },
    { namespace: NS, name: CM, serversRequired: true, startTimeoutMs },
    logger,
  );
  closers.push(() => s.close());
  return s;
}

async function fakeApi(): Promise<FakeKubeApi> {
  const api = await FakeKubeApi.start();
  closers.push(() => api.close());
  return api;
}

test('ConfigMap: loads config.yaml and observes changes through the watch, also after the watch drops', async () => {
  const api = await fakeApi();
  api.apply('configmaps', NS, configMapObject(CM, { 'config.yaml': configYaml(1) }));
  api.apply('configmaps', NS, configMapObject('unrelated', { 'config.yaml': configYaml(9) }));
  const source = await configMapSource(api);
  await source.start();
  assert.is(shardsOf(source.current()), 1);
  const seen = recorder<ClusterConfig>((l) => source.watch(l));
  await waitFor(() => api.openWatches('configmaps') === 1, 'the watch to be open');
  const watchRequest = api.requests.find((r) => r.query.watch !== undefined);
  assert.is(watchRequest?.query.fieldSelector, `metadata.name=${CM}`);

  api.apply('configmaps', NS, configMapObject(CM, { 'config.yaml': configYaml(2) }));
  await waitFor(() => seen.length === 1, 'the ConfigMap change');
  assert.is(shardsOf(seen[0]!), 2);
  api.apply('configmaps', NS, configMapObject('unrelated', { 'config.yaml': configYaml(8) }));

  api.closeWatches();
  api.apply('configmaps', NS, configMapObject(CM, { 'config.yaml': configYaml(3) }));
  await waitFor(() => seen.length === 2, 'the change made while the watch was down');
  assert.is(shardsOf(source.current()), 3);
});

test('ConfigMap: invalid edits and deletion keep the last valid config', async () => {
  const api = await fakeApi();
  api.apply('configmaps', NS, configMapObject(CM, { 'config.yaml': configYaml(1) }));
  const source = await configMapSource(api);
  await source.start();
  const seen = recorder<ClusterConfig>((l) => source.watch(l));
  await waitFor(() => api.openWatches('configmaps') === 1, 'the watch to be open');

  api.apply('configmaps', NS, configMapObject(CM, { 'config.yaml': 'namespaces: [' }));
  await waitFor(() => logger.messages('error').length === 1, 'the invalid edit to be reported');
  api.remove('configmaps', NS, CM);
  await waitFor(() => logger.messages('warn').some((m) => /ConfigMap or its key is gone/.test(m)), 'the deletion to be reported');
  assert.is(shardsOf(source.current()), 1);
  api.apply('configmaps', NS, configMapObject(CM, { 'config.yaml': configYaml(4) }));
  await waitFor(() => seen.length === 1, 'the valid config again');
  assert.is(shardsOf(source.current()), 4);
});

test('ConfigMap: start fails clearly when the ConfigMap, its key or the API server is missing', async () => {
  const api = await fakeApi();
  const missing = await rejection((await configMapSource(api)).start());
  assert.ok(isOxiaError(missing, 'InvalidArgument'));
  assert.match(missing.message, /cluster config ConfigMap oxia\/oxia-cluster-config key config\.yaml: the ConfigMap does not exist/);
  api.apply('configmaps', NS, configMapObject(CM, { 'cluster.yaml': configYaml(1) }));
  const noKey = await rejection((await configMapSource(api)).start());
  assert.match(noKey.message, /the ConfigMap has no such key/);
  api.apply('configmaps', NS, configMapObject(CM, { 'config.yaml': 'servers: 3' }));
  const invalid = await rejection((await configMapSource(api)).start());
  assert.match(invalid.message, /invalid cluster config in ConfigMap oxia\/oxia-cluster-config key config\.yaml:\n {2}servers: /);

  const gone = await FakeKubeApi.start();
  await gone.close();
  const unreachable = await rejection((await configMapSource(gone, 300)).start());
  assert.ok(isOxiaError(unreachable, 'ResourceUnavailable'), String(unreachable));
});

test('a source used before start() is a bug, not a silent empty config', () => {
  const s: ClusterConfigSource = new FileClusterConfigSource({ path: '/nonexistent', serversRequired: true }, logger);
  assert.throws(() => s.current(), /before start\(\)/);
});

test.run();
