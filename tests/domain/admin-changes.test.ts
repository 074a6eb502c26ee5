// The admin API's changes laid over the config file (ADR 0022): an API change applies while
// the config still declares what it declared when the change was made; an edit of that entry
// in the config supersedes it; a config that comes to declare the same makes it redundant.
// Members follow data servers created and deleted through the API. The changes round-trip
// through the stored status JSON, which refuses malformed ones.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { applyAdminChanges, membersWithAdminChanges, withoutDropped, type AdminChanges } from '../../src/domain/cluster/admin-changes.js';
import { DEFAULT_AUTO_SPLIT, DEFAULT_LOAD_BALANCER, type ClusterConfig, type NamespaceConfig } from '../../src/domain/cluster/cluster-config.js';
import { decodeStoredClusterStatus, encodeStoredClusterStatus } from '../../src/domain/cluster/cluster-status-codec.js';
import { emptyClusterStatus } from '../../src/domain/cluster/cluster-status.js';
import { planReplicationFactorChanges } from '../../src/domain/coordinator/replication-factor.js';
import { nodeId } from '../../src/domain/cluster/node-address.js';

const ns = (name: string, rf: number): NamespaceConfig => ({ name, initialShardCount: 1, replicationFactor: rf, notificationsEnabled: true, keySorting: 'hierarchical', antiAffinities: [] });
const server = (name: string) => ({ name, public: `${name}:1`, internal: `${name}:2` });
const config = (namespaces: NamespaceConfig[], servers = ['a', 'b', 'c']): ClusterConfig => ({
  namespaces,
  servers: servers.map(server),
  allowExtraAuthorities: [],
  serverMetadata: new Map(),
  loadBalancer: DEFAULT_LOAD_BALANCER,
  autoSplit: DEFAULT_AUTO_SPLIT,
});

const changes: AdminChanges = {
  namespaces: new Map([
    ['default', { value: ns('default', 2), base: ns('default', 3) }], // patched
    ['api', { value: ns('api', 1), base: undefined }], // created
    ['old', { value: undefined, base: ns('old', 1) }], // deleted
  ]),
  dataServers: new Map([
    ['d', { value: { address: server('d'), metadata: { labels: { zone: 'z' } } }, base: undefined }],
    ['a', { value: undefined, base: { address: server('a'), metadata: undefined } }],
  ]),
};

test('changes apply while the config declares what it did when they were made', () => {
  const e = applyAdminChanges(config([ns('default', 3), ns('old', 1)]), changes);
  assert.equal(e.dropped, []);
  assert.equal(e.config.namespaces.map((n) => [n.name, n.replicationFactor]), [['default', 2], ['api', 1]]);
  assert.equal(e.config.servers.map(nodeId), ['b', 'c', 'd']);
  assert.equal(e.config.serverMetadata.get('d'), { labels: { zone: 'z' } });
  assert.equal(membersWithAdminChanges(config([]).servers, e).map(nodeId), ['b', 'c', 'd']);
});

test('an entry edited in the config after the API changed it follows the config; one the config now declares alike is redundant', () => {
  const e = applyAdminChanges(config([ns('default', 5), ns('api', 1)], ['a', 'b', 'c']), changes);
  assert.equal(
    e.dropped.map((d) => [d.kind, d.name, d.reason]),
    [
      ['namespace', 'api', 'redundant'],
      ['namespace', 'default', 'superseded'],
      ['namespace', 'old', 'redundant'],
    ],
  );
  assert.equal(e.config.namespaces.map((n) => [n.name, n.replicationFactor]), [['default', 5], ['api', 1]]);
  const left = withoutDropped(changes, e.dropped);
  assert.equal([...left.namespaces.keys()], []);
  assert.equal([...left.dataServers.keys()].sort(), ['a', 'd']);
});

test('the changes round-trip through the stored status; malformed ones are refused with their path', () => {
  const status = { ...emptyClusterStatus(), adminChanges: changes };
  const text = encodeStoredClusterStatus(status, '3');
  const back = decodeStoredClusterStatus(text).status.adminChanges!;
  assert.equal(back, changes);
  assert.not.match(encodeStoredClusterStatus(emptyClusterStatus(), '1'), /adminChanges/, 'nothing is written without changes');
  const broken = text.replace('"replicationFactor":2', '"replicationFactor":0');
  assert.throws(() => decodeStoredClusterStatus(broken), /clusterStatus\.adminChanges\.namespaces\.default\.value\.replicationFactor: expected a positive 32-bit integer/);
});

test('a replication factor is reached one replica per shard at a time: grow on the least loaded member, shrink a follower', () => {
  const members = ['a', 'b', 'c'].map(server);
  const shard = (ensemble: string[], leader: string) => ({
    status: 'SteadyState' as const,
    term: 1n,
    leader: server(leader),
    ensemble: ensemble.map(server),
    removedNodes: [],
    pendingDeleteShardNodes: [],
    int32HashRange: { min: 0, max: 0xffff_ffff },
  });
  const status = {
    ...emptyClusterStatus(),
    shardIdGenerator: 2n,
    namespaces: new Map([
      ['grow', { replicationFactor: 3, shards: new Map([[0n, shard(['a'], 'a')]]) }],
      ['shrink', { replicationFactor: 1, shards: new Map([[1n, shard(['a', 'b', 'c'], 'b')]]) }],
    ]),
  };
  const plan = planReplicationFactorChanges(status, members, new Map([['grow', ns('grow', 3)], ['shrink', ns('shrink', 1)]]), new Map());
  assert.equal(
    plan.steps.map((s) => [s.key.namespace, s.from && nodeId(s.from), s.to && nodeId(s.to)]),
    [
      // b and c hold one replica each (a holds two): the tie goes by shard id, as every placement.
      ['grow', undefined, 'c'],
      ['shrink', 'c', undefined],
    ],
  );
});

test.run();
