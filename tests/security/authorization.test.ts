// Authorization on a real `oxia-ts standalone`: a policy file grants certificate subjects
// (mutual TLS, certificates made by openssl at test time) rights on namespaces and key
// prefixes. Denied calls fail with PERMISSION_DENIED naming the namespace and the right,
// and write nothing; reads reaching outside a prefix are refused, not clipped;
// notifications outside the scope are not delivered; a session answers only to its
// creator; the policy is re-read when its file changes; a bad file stops the start.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OxiaClient, OxiaError as ClientError } from '../../src/adapters/client/index.js';
import { KeyComparisonType, NotificationType, Status } from '../../src/domain/wire/client.js';
import { makeCa, type CertFiles } from '../support/certs.js';
import { expectGrpcError, RawOxiaClient } from '../support/raw-client.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { runCli } from '../cli/support.js';
import { waitFor } from '../support/wait.js';

const S = suite('security: authorization');

const dir = mkdtempSync(join(tmpdir(), 'oxia-authz-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const ca = makeCa(dir, 'ca');
const serverCert = ca.issue('server');
const admin = ca.issue('admin');
const tenantA = ca.issue('tenant-a');
const reader = ca.issue('reader');
const outsider = ca.issue('outsider');

const POLICY = `
grants:
  - principals: ["cert:CN=admin"]
    namespaces: ["*"]
    rights: [admin]
  - principals: ["cert:CN=tenant-a"]
    namespaces: [default]
    rights: [read, write]
    keyPrefix: /tenants/a/
  - principals: ["cert:CN=reader"]
    namespaces: [default]
    rights: [read]
`;
const policyFile = join(dir, 'policy.yaml');
writeFileSync(policyFile, POLICY);

const SHARD = 0n; // --shards 1
let node: StandaloneProcess;
const raws: RawOxiaClient[] = [];

function credentialsOf(who: CertFiles): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(readFileSync(ca.certFile), readFileSync(who.keyFile), readFileSync(who.certFile));
}
function raw(who: CertFiles): RawOxiaClient {
  const c = new RawOxiaClient(node.address, false, credentialsOf(who));
  raws.push(c);
  return c;
}

S.before(async () => {
  node = await startStandalone({
    extraArgs: [
      '--tls-cert-file', serverCert.certFile, '--tls-key-file', serverCert.keyFile, '--tls-trusted-ca-file', ca.certFile, '--tls-client-auth',
      '--authorization-policy-file', policyFile,
    ],
  });
});
S.after(async () => {
  for (const c of raws) c.close();
  await node?.stop();
});

S('a prefix grant writes under its prefix; outside it PERMISSION_DENIED names namespace and right, and nothing is written', async () => {
  const a = raw(tenantA);
  assert.is((await a.put(SHARD, { key: '/tenants/a/x', value: Buffer.from('1') })).puts[0]!.status, Status.OK);
  const e = await expectGrpcError(a.put(SHARD, { key: '/tenants/b/x', value: Buffer.from('1') }), grpc.status.PERMISSION_DENIED);
  assert.match(e.details, /"CN=tenant-a"/);
  assert.match(e.details, /"write"/);
  assert.match(e.details, /namespace "default"/);
  assert.match(e.details, /\/tenants\/b\/x/);
  // A batch with one key outside fails whole: the key inside is not written either.
  await expectGrpcError(
    a.write({ shard: SHARD, puts: [{ key: '/tenants/a/batch', value: Buffer.from('1'), sequenceKeyDelta: [], secondaryIndexes: [] }, { key: '/elsewhere', value: Buffer.from('1'), sequenceKeyDelta: [], secondaryIndexes: [] }], deletes: [], deleteRanges: [] }),
    grpc.status.PERMISSION_DENIED,
  );
  const root = raw(admin);
  assert.is((await root.get(SHARD, '/tenants/b/x')).status, Status.KEY_NOT_FOUND);
  assert.is((await root.get(SHARD, '/tenants/a/batch')).status, Status.KEY_NOT_FOUND);
  assert.is((await root.get(SHARD, '/elsewhere')).status, Status.KEY_NOT_FOUND);
});

S('read-only: gets and lists pass, writes and sessions are denied', async () => {
  const r = raw(reader);
  await raw(admin).put(SHARD, { key: '/open/1', value: Buffer.from('v') });
  assert.is((await r.get(SHARD, '/open/1')).status, Status.OK);
  assert.equal(await r.list(SHARD, '/open/', '/open//'), ['/open/1']);
  const e = await expectGrpcError(r.put(SHARD, { key: '/open/2', value: Buffer.from('v') }), grpc.status.PERMISSION_DENIED);
  assert.match(e.details, /lacks the right "write" on namespace "default"/);
  await expectGrpcError(r.deleteRange(SHARD, '/open/', '/open//'), grpc.status.PERMISSION_DENIED);
  await expectGrpcError(r.createSession(SHARD, 5_000), grpc.status.PERMISSION_DENIED);
  assert.is((await r.get(SHARD, '/open/1')).status, Status.OK, 'the denied delete-range deleted nothing');
});

S('no grant at all: even the shard assignments are refused', async () => {
  const o = raw(outsider);
  await expectGrpcError(o.assignments(), grpc.status.PERMISSION_DENIED, /no right on namespace "default"/);
  await expectGrpcError(o.get(SHARD, '/open/1'), grpc.status.PERMISSION_DENIED);
});

S('reads reaching outside the prefix are refused, not clipped', async () => {
  const a = raw(tenantA);
  const root = raw(admin);
  await root.put(SHARD, { key: '/tenants/a/k1', value: Buffer.from('v') });
  await root.put(SHARD, { key: '/tenants/b/k1', value: Buffer.from('v') });
  assert.equal(await a.list(SHARD, '/tenants/a/', '/tenants/a//'), ['/tenants/a/k1', '/tenants/a/x']);
  await expectGrpcError(a.list(SHARD, '/tenants/', '/tenants//'), grpc.status.PERMISSION_DENIED, /reaches outside/);
  await expectGrpcError(a.rangeScan(SHARD, '/tenants/', '/tenants//'), grpc.status.PERMISSION_DENIED);
  await expectGrpcError(a.list(SHARD, '/tenants/a/', '/tenants/a//', { includeInternalKeys: true }), grpc.status.PERMISSION_DENIED);
  await expectGrpcError(a.deleteRange(SHARD, '/tenants/', '/tenants//'), grpc.status.PERMISSION_DENIED);
  assert.is((await root.get(SHARD, '/tenants/b/k1')).status, Status.OK);
  // A floor get that lands outside the prefix is refused; one that lands inside answers.
  assert.is((await a.get(SHARD, '/tenants/a/k2', KeyComparisonType.FLOOR)).key, '/tenants/a/k1');
  await expectGrpcError(a.get(SHARD, '/tenants/b/k2', KeyComparisonType.FLOOR), grpc.status.PERMISSION_DENIED);
  await expectGrpcError(a.get(SHARD, '/tenants/a/', KeyComparisonType.LOWER), grpc.status.PERMISSION_DENIED);
});

S('notifications outside the scope are not delivered', async () => {
  const a = raw(tenantA);
  const root = raw(admin);
  const stream = a.notifications(SHARD);
  try {
    await root.put(SHARD, { key: '/tenants/b/n1', value: Buffer.from('v') });
    await root.put(SHARD, { key: '/tenants/a/n1', value: Buffer.from('v') });
    await root.deleteRange(SHARD, '/tenants/b/', '/tenants/b//');
    await root.deleteRange(SHARD, '/tenants/a/n', '/tenants/a/o');
    const keys: string[] = [];
    // Batches come in write order: the last write's batch comes last (take() fails at its deadline).
    while (!keys.includes(`${NotificationType.KEY_RANGE_DELETED}:/tenants/a/n`)) {
      for (const batch of await stream.take(1, 20_000)) for (const n of batch.notifications) keys.push(`${n.value?.type}:${n.key}`);
    }
    assert.ok(keys.includes(`${NotificationType.KEY_CREATED}:/tenants/a/n1`), keys.join(' '));
    assert.not.ok(keys.some((k) => k.includes('/tenants/b/')), `delivered outside the scope: ${keys.join(' ')}`);
  } finally {
    stream.cancel();
  }
});

S('a session answers only to the principal that created it', async () => {
  const root = raw(admin);
  const a = raw(tenantA);
  const id = await a.createSession(SHARD, 10_000);
  await a.put(SHARD, { key: '/tenants/a/eph', value: Buffer.from('v'), sessionId: id });
  const e = await expectGrpcError(root.closeSession(SHARD, id), grpc.status.PERMISSION_DENIED, /created by another principal/);
  assert.match(e.details, /"CN=admin"/);
  await expectGrpcError(root.keepAlive(SHARD, id), grpc.status.PERMISSION_DENIED);
  assert.is((await root.get(SHARD, '/tenants/a/eph')).status, Status.OK, 'the ephemeral record survived the attempt');
  await a.keepAlive(SHARD, id);
  await a.closeSession(SHARD, id);
  assert.is((await root.get(SHARD, '/tenants/a/eph')).status, Status.KEY_NOT_FOUND);
});

S('the client library sees PermissionDenied', async () => {
  const tls = { ca: readFileSync(ca.certFile), cert: readFileSync(reader.certFile), key: readFileSync(reader.keyFile) };
  const c = await OxiaClient.connect(node.address, { tls, initTimeoutMs: 5_000, requestTimeoutMs: 5_000, logger: { warn: () => {} } });
  try {
    const e = await c.put('/lib/x', 'v').then(() => undefined, (err: unknown) => err);
    assert.instance(e, ClientError);
    assert.is((e as ClientError).kind, 'PermissionDenied');
  } finally {
    await c.close();
  }
});

S('the policy file is re-read on change; a bad version keeps the last good one', async () => {
  const r = raw(reader);
  await expectGrpcError(r.put(SHARD, { key: '/open/reload', value: Buffer.from('v') }), grpc.status.PERMISSION_DENIED);
  // Replaced as an editor or a ConfigMap update would: a new file renamed over the old.
  writeFileSync(`${policyFile}.new`, POLICY.replace('    rights: [read]\n', '    rights: [read, write]\n'));
  renameSync(`${policyFile}.new`, policyFile);
  await waitFor(async () => (await r.put(SHARD, { key: '/open/reload', value: Buffer.from('v') }).then(() => true, () => false)), 'the new grant to apply', 20_000, 100);
  writeFileSync(`${policyFile}.new`, 'grants: [{ principals: ["cert:CN=reader"], rights: [fly] }]');
  renameSync(`${policyFile}.new`, policyFile);
  await waitFor(() => node.logs().some((l) => l.includes('authorization policy file changed but cannot be used')), 'the bad version to be reported', 20_000, 100);
  assert.is((await r.put(SHARD, { key: '/open/reload2', value: Buffer.from('v') })).puts[0]!.status, Status.OK, 'the last good policy stays');
});

S('a missing or bad policy file stops the start, naming the file and the mistake', async () => {
  const base = ['standalone', '--public-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--data-dir', join(dir, 'x-db'), '--wal-dir', join(dir, 'x-wal')];
  const missing = await runCli([...base, '--authorization-policy-file', join(dir, 'nope.yaml')]);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /nope\.yaml/);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'grants:\n  - principals: ["cert:CN=x"]\n    namespaces: [default]\n    rights: [read, sudo]\n');
  const invalid = await runCli([...base, '--authorization-policy-file', bad]);
  assert.is(invalid.code, 1);
  assert.match(invalid.stderr, /bad\.yaml/);
  assert.match(invalid.stderr, /grants\[0\]\.rights\[1\]: unknown right "sudo"/);
});

S.run();
