import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseClusterConfigYaml } from '../../src/adapters/cluster-config/cluster-config-yaml.js';
import { parseClusterConfigLocation } from '../../src/adapters/cluster-config/config-location.js';
import { sameClusterConfig } from '../../src/domain/cluster/cluster-config.js';
import { parseGoDurationMs } from '../../src/domain/cluster/go-duration.js';
import { isOxiaError } from '../../src/domain/errors/oxia-error.js';

const STATIC = { serversRequired: true };

const OXIA_EXAMPLE = `
namespaces:
  - name: default
    initialShardCount: 3
    replicationFactor: 3
  - name: events
    initialShardCount: 1
    replicationFactor: 2
    notificationsEnabled: false
    keySorting: Natural
    antiAffinities:
      - labels: [zone]
        mode: Strict
servers:
  - public: oxia-0.oxia-svc:6648
    internal: oxia-0.oxia-svc:6649
  - name: node-1
    public: oxia-1.oxia-svc:6648
    internal: oxia-1.oxia-svc:6649
  - public: oxia-2.oxia-svc:6648
    internal: oxia-2.oxia-svc:6649
serverMetadata:
  node-1:
    labels: {zone: b}
loadBalancer:
  scheduleInterval: 1m30s
allowExtraAuthorities: ["proxy:6648"]
coordinators: [{name: c0, publicAddress: "c0:6651"}]   # not used here: ignored as Oxia ignores unknown keys
`;

function problemsOf(yaml: string, check = STATIC): string {
  try {
    parseClusterConfigYaml(yaml, 'test.yaml', check);
  } catch (e) {
    assert.ok(isOxiaError(e, 'InvalidArgument'), String(e));
    return (e as Error).message;
  }
  assert.unreachable('expected the config to be refused');
  return '';
}

test("parses Oxia's cluster config with its defaults", () => {
  const c = parseClusterConfigYaml(OXIA_EXAMPLE, 'test.yaml', STATIC);
  assert.equal(c.namespaces, [
    { name: 'default', initialShardCount: 3, replicationFactor: 3, notificationsEnabled: true, keySorting: 'hierarchical', antiAffinities: [] },
    { name: 'events', initialShardCount: 1, replicationFactor: 2, notificationsEnabled: false, keySorting: 'natural', antiAffinities: [{ labels: ['zone'], mode: 'strict' }] },
  ]);
  assert.equal(c.servers, [
    { public: 'oxia-0.oxia-svc:6648', internal: 'oxia-0.oxia-svc:6649' },
    { name: 'node-1', public: 'oxia-1.oxia-svc:6648', internal: 'oxia-1.oxia-svc:6649' },
    { public: 'oxia-2.oxia-svc:6648', internal: 'oxia-2.oxia-svc:6649' },
  ]);
  assert.equal(c.serverMetadata.get('node-1'), { labels: { zone: 'b' } });
  assert.equal(c.loadBalancer, { scheduleIntervalMs: 90_000, quarantineTimeMs: 300_000 });
  assert.equal(c.allowExtraAuthorities, ['proxy:6648']);
});

test('older Oxia placed anti-affinities under policies', () => {
  const c = parseClusterConfigYaml(
    'namespaces: [{name: a, initialShardCount: 1, replicationFactor: 1, policies: {antiAffinities: [{labels: [rack], mode: Relaxed}]}}]\nservers: [{public: "a:1", internal: "a:2"}]',
    'x',
    STATIC,
  );
  assert.equal(c.namespaces[0]!.antiAffinities, [{ labels: ['rack'], mode: 'relaxed' }]);
});

test('every problem is reported with its path', () => {
  const msg = problemsOf(`
namespaces:
  - name: default
    initialShardCount: 0
    replicationFactor: 5
  - name: default
    initialShardCount: two
    replicationFactor: 1
    keySorting: random
servers:
  - public: a:6648
    internal: a:6649
  - public: a:6648
    internal: nohostport
`);
  assert.match(msg, /^invalid cluster config in test\.yaml:/);
  assert.match(msg, /namespaces\[1\]\.initialShardCount: must be a non-negative integer, got "two"/);
  assert.match(msg, /namespaces\[1\]\.keySorting: must be hierarchical or natural, got "random"/);
  // Shape problems come first; the semantic rules run on a config whose shape is right.
  const semantic = problemsOf(`
namespaces:
  - {name: default, initialShardCount: 0, replicationFactor: 5}
  - {name: default, initialShardCount: 1, replicationFactor: 1}
  - {name: "bad name!", initialShardCount: 1, replicationFactor: 1}
servers:
  - {public: "a:6648", internal: "a:6649"}
  - {public: "a:6648", internal: "nohostport"}
loadBalancer: {quarantineTime: soon}
`);
  assert.match(semantic, /loadBalancer\.quarantineTime: must be a duration such as 500ms, 30s or 5m, got "soon"/);
  const semantic2 = problemsOf(`
namespaces:
  - {name: default, initialShardCount: 0, replicationFactor: 5}
  - {name: default, initialShardCount: 1, replicationFactor: 1}
  - {name: "bad name!", initialShardCount: 1, replicationFactor: 1}
servers:
  - {public: "a:6648", internal: "a:6649"}
  - {public: "a:6648", internal: "nohostport"}
`);
  for (const expected of [
    /namespaces\[0\]\.initialShardCount: must be an integer from 1 to 1024, got 0/,
    /namespaces\[0\]\.replicationFactor: namespace "default" needs 5 servers but only 2 are configured/,
    /namespaces\[1\]\.name: namespace "default" is declared twice/,
    /namespaces\[2\]\.name: "bad name!" is not a valid namespace name/,
    /servers\[1\]\.internal: "nohostport" is not a host:port address/,
    /servers\[1\]: same public address as servers\[0\] \(a:6648\)/,
  ]) {
    assert.match(semantic2, expected);
  }
});

test('syntax errors, empty documents and wrong shapes are refused clearly', () => {
  assert.match(problemsOf('namespaces: [\n'), /YAML: /);
  assert.match(problemsOf('a: 1\na: 2\n'), /YAML: Map keys must be unique at line 2, column 1/);
  assert.match(problemsOf(''), /the document is empty/);
  assert.match(problemsOf('- 1\n- 2\n'), /expected a mapping at the top level, got a list/);
  assert.match(problemsOf('servers: {public: x}'), /servers: Invalid input: expected array/);
  assert.match(problemsOf('namespaces: [{name: a, initialShardCount: 1}]', { serversRequired: false }), /namespaces\[0\]\.replicationFactor: must be a non-negative integer, got undefined/);
  assert.match(problemsOf('namespaces: []'), /servers: at least one server is required/);
});

test('with discovered servers the server list may be empty', () => {
  const c = parseClusterConfigYaml('namespaces: [{name: a, initialShardCount: 2, replicationFactor: 3}]', 'cm', { serversRequired: false });
  assert.equal(c.servers, []);
  assert.is(c.namespaces[0]!.replicationFactor, 3);
});

test('config equality ignores formatting', () => {
  const a = parseClusterConfigYaml(OXIA_EXAMPLE, 'a', STATIC);
  const b = parseClusterConfigYaml(OXIA_EXAMPLE.replace('# not used', '# changed comment').replace('initialShardCount: 3', 'initialShardCount:   3'), 'b', STATIC);
  const c = parseClusterConfigYaml(OXIA_EXAMPLE.replace('initialShardCount: 3', 'initialShardCount: 4'), 'c', STATIC);
  assert.ok(sameClusterConfig(a, b));
  assert.not.ok(sameClusterConfig(a, c));
});

test('Go durations', () => {
  assert.is(parseGoDurationMs('30s'), 30_000);
  assert.is(parseGoDurationMs('1h2m3.5s'), 3_723_500);
  assert.is(parseGoDurationMs('250ms'), 250);
  assert.is(parseGoDurationMs('1500us'), 1.5);
  assert.is(parseGoDurationMs('0'), 0);
  for (const bad of ['', '10', 's', '1d', '-1s', '1 s']) assert.is(parseGoDurationMs(bad), undefined, bad);
});

test('--conf names a file or, as in Oxia, configmap:<namespace>/<name>', () => {
  assert.equal(parseClusterConfigLocation('conf/cluster.yaml'), { kind: 'file', path: 'conf/cluster.yaml' });
  assert.equal(parseClusterConfigLocation('configmap:oxia/oxia-cluster-config'), { kind: 'configmap', namespace: 'oxia', name: 'oxia-cluster-config' });
  for (const bad of ['', 'configmap:oxia', 'configmap:/x', 'configmap:a/b/c', 'configmap:Oxia/x']) {
    assert.throws(() => parseClusterConfigLocation(bad), /--conf: /, bad);
  }
});

test.run();
