// `oxia-ts admin` against a real coordinator (one server) whose admin listener runs mutual TLS
// (--public-tls-*) under an authorization policy (--authorization-policy-file): the namespace
// and dataserver commands with -o table, json and yaml; a principal (the client certificate's
// subject, with the open authenticator) without the admin right is refused PERMISSION_DENIED,
// one with admin on a single namespace may manage only that one; usage errors exit 2.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { makeCa, type CertFiles } from '../support/certs.js';
import { TestCluster } from '../support/cluster.js';
import { waitFor } from '../support/wait.js';
import { runCli } from './support.js';

const S = suite('cli: oxia-ts admin');
const dir = mkdtempSync(join(tmpdir(), 'oxia-admin-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const ca = makeCa(dir, 'ca');
const coordinatorCert = ca.issue('coordinator');
const operator = ca.issue('operator');
const tenant = ca.issue('tenant');
const reader = ca.issue('reader');
const policyFile = join(dir, 'policy.yaml');
writeFileSync(
  policyFile,
  `
grants:
  - principals: ["cert:CN=operator"]
    namespaces: ["*"]
    rights: [admin]
  - principals: ["cert:CN=tenant"]
    namespaces: [tenant-ns]
    rights: [admin]
  - principals: ["cert:CN=reader"]
    namespaces: ["*"]
    rights: [read, write]
`,
);

let cluster: TestCluster;

function admin(who: CertFiles, ...args: string[]) {
  return runCli([
    'admin',
    '--admin-address', String(cluster.coordinator.serving.publicAddress),
    '--tls-trusted-ca-file', ca.certFile,
    '--tls-cert-file', who.certFile,
    '--tls-key-file', who.keyFile,
    '--tls-server-name', 'localhost',
    ...args,
  ]);
}

S.before(async () => {
  cluster = await TestCluster.start({
    nodes: 1,
    namespaces: [{ name: 'default', shards: 1, rf: 1 }],
    coordinatorArgs: [
      '--public-tls-cert-file', coordinatorCert.certFile,
      '--public-tls-key-file', coordinatorCert.keyFile,
      '--public-tls-trusted-ca-file', ca.certFile,
      '--public-tls-client-auth',
      '--authorization-policy-file', policyFile,
    ],
  });
});

S.after(async () => {
  await cluster?.close();
});

S('namespace create, get, list, patch, delete with -o table, json and yaml', async () => {
  const created = await admin(operator, 'namespace', 'create', 'cli-ns', '--initial-shards', '2', '--replication-factor', '1', '-o', 'json');
  assert.is(created.code, 0, created.stderr);
  assert.equal(JSON.parse(created.stdout), { name: 'cli-ns', initial_shard_count: 2, replication_factor: 1, key_sorting: 'hierarchical', notifications_enabled: true });

  const table = await admin(operator, 'namespace', 'list');
  assert.is(table.code, 0, table.stderr);
  assert.equal(table.stdout.trimEnd().split('\n'), ['NAME     INITIAL_SHARDS  REPLICATION_FACTOR', 'cli-ns   2               1', 'default  1               1']);

  await waitFor(async () => {
    const r = await admin(operator, 'namespace', 'get', 'cli-ns', '-o', 'yaml');
    const view = parseYaml(r.stdout) as { namespace: { initialShardCount: number }; namespacestatus: { shards: Record<string, { status: string; leader?: unknown }> } };
    assert.is(view.namespace.initialShardCount, 2);
    const shards = Object.values(view.namespacestatus.shards);
    return shards.length === 2 && shards.every((s) => s.status === 'SteadyState' && s.leader !== undefined);
  }, 'cli-ns led, as namespace get -o yaml shows', 60_000, 500);

  const patched = await admin(operator, 'namespace', 'patch', 'cli-ns', '--notifications=false', '-o', 'yaml');
  assert.is(patched.code, 0, patched.stderr);
  assert.is((parseYaml(patched.stdout) as { notificationsEnabled: boolean }).notificationsEnabled, false);

  const deleted = await admin(operator, 'namespace', 'delete', 'cli-ns');
  assert.is(deleted.code, 0, deleted.stderr);
  assert.match(deleted.stdout, /^NAME\s+INITIAL_SHARDS\s+REPLICATION_FACTOR\ncli-ns\s+2\s+1\n$/);
  const gone = await admin(operator, 'namespace', 'get', 'cli-ns');
  assert.is(gone.code, 1);
  assert.match(gone.stderr, /NOT_FOUND: namespace "cli-ns" not found/);
});

S('dataserver list, get and patch with -o table and json', async () => {
  const node = cluster.nodes[0]!;
  const list = await admin(operator, 'dataserver', 'list');
  assert.is(list.code, 0, list.stderr);
  assert.match(list.stdout, new RegExp(`^NAME\\s+PUBLIC\\s+INTERNAL\\s+STATE\\n${node.name}\\s+${node.publicAddress}\\s+${node.internalAddress}\\s+DATA_SERVER_STATE_RUNNING\\n$`));

  const patched = await admin(operator, 'dataserver', 'patch', node.name, '--label', 'zone=a', '--label', 'rack=r1', '-o', 'json');
  assert.is(patched.code, 0, patched.stderr);
  assert.equal(JSON.parse(patched.stdout), { identity: { name: node.name, public: node.publicAddress, internal: node.internalAddress }, metadata: { labels: { zone: 'a', rack: 'r1' } } });

  const got = await admin(operator, 'dataserver', 'get', node.name, '-o', 'json');
  assert.is(got.code, 0, got.stderr);
  const view = JSON.parse(got.stdout) as { data_server: { metadata: { labels: Record<string, string> } }; data_server_status: { state: string } };
  assert.equal(view.data_server.metadata.labels, { zone: 'a', rack: 'r1' });
  assert.is(view.data_server_status.state, 'DATA_SERVER_STATE_RUNNING');

  const refused = await admin(operator, 'dataserver', 'delete', node.name);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /FAILED_PRECONDITION: cannot delete data server "node-0": namespace "default" has replicationFactor=1 and 0 data servers would remain/);
});

S('the policy: no admin right, PERMISSION_DENIED; admin on one namespace manages that one only', async () => {
  const denied = await admin(reader, 'namespace', 'create', 'r-ns', '--initial-shards', '1', '--replication-factor', '1');
  assert.is(denied.code, 1);
  assert.match(denied.stderr, /PERMISSION_DENIED: principal "CN=reader" has no admin right on namespace "r-ns"/);
  const servers = await admin(tenant, 'dataserver', 'list');
  assert.is(servers.code, 1);
  assert.match(servers.stderr, /PERMISSION_DENIED: principal "CN=tenant" has no admin right on every namespace/);

  const own = await admin(tenant, 'namespace', 'create', 'tenant-ns', '--initial-shards', '1', '--replication-factor', '1');
  assert.is(own.code, 0, own.stderr);
  const other = await admin(tenant, 'namespace', 'delete', 'default');
  assert.is(other.code, 1);
  assert.match(other.stderr, /PERMISSION_DENIED/);
  const listed = await admin(tenant, 'namespace', 'list', '-o', 'json');
  assert.equal((JSON.parse(listed.stdout) as { namespace: { name: string } }[]).map((v) => v.namespace.name), ['tenant-ns'], 'a list shows what the caller administers');
});

S('usage errors exit 2 before anything is sent', async () => {
  const r = await admin(operator, 'namespace', 'create', 'x', '--initial-shards', '0', '--replication-factor', '1');
  assert.is(r.code, 2);
  assert.match(r.stderr, /initial shard count must be greater than 0/);
  const f = await admin(operator, 'namespace', 'list', '-o', 'xml');
  assert.is(f.code, 2);
  assert.match(f.stderr, /unsupported output format "xml"/);
  const p = await admin(operator, 'namespace', 'patch', 'default');
  assert.is(p.code, 2);
  assert.match(p.stderr, /must specify at least one field to patch/);
});

S.run();
