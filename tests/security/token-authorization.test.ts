// Authorization of principals named by OIDC tokens (static key made at test time), on a real
// standalone server and on a coordinator's admin listener: `user:` and `claim:` grants, a
// principal without grants refused at connect, a session that another principal with the
// write right cannot close, and the admin API refusing a missing token (UNAUTHENTICATED) and a
// token without the admin right (PERMISSION_DENIED).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OxiaClient, OxiaError, TokenAuthentication } from '../../src/adapters/client/index.js';
import { Status } from '../../src/domain/wire/client.js';
import { runCli } from '../cli/support.js';
import { TestCluster } from '../support/cluster.js';
import { expectGrpcError, RawOxiaClient } from '../support/raw-client.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { makeIssuer } from '../support/tokens.js';

const S = suite('security: authorization of token principals');
const dir = mkdtempSync(join(tmpdir(), 'oxia-token-authz-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const issuer = await makeIssuer('https://issuer.oxia.test', 'ES256');
const keyFile = issuer.writePublicPem(join(dir, 'issuer.pem'));
const authFlags = ['--auth-provider-name', 'oidc', '--auth-provider-params', JSON.stringify({ issuers: { [issuer.issuer]: { allowedAudiences: 'oxia', staticKeyFile: keyFile } } })];
const policyFile = join(dir, 'policy.yaml');
writeFileSync(
  policyFile,
  `
grants:
  - principals: ["user:alice"]
    namespaces: [default]
    rights: [read, write]
    keyPrefix: /a/
  - principals: ["claim:groups=readers"]
    namespaces: [default]
    rights: [read]
  - principals: ["user:dave"]
    namespaces: [default]
    rights: [write]
  - principals: ["user:root"]
    namespaces: ["*"]
    rights: [admin]
`,
);

const token = (sub: string, claims: Record<string, unknown> = {}) => issuer.sign({ sub, claims });
const SHARD = 0n;
let node: StandaloneProcess | undefined;
let cluster: TestCluster | undefined;
const raws: RawOxiaClient[] = [];
S.after(async () => {
  for (const c of raws) c.close();
  await node?.stop();
  await cluster?.close();
});

async function raw(sub: string): Promise<RawOxiaClient> {
  const c = new RawOxiaClient(node!.address, false, grpc.credentials.createInsecure(), { authorization: `Bearer ${await token(sub)}` });
  raws.push(c);
  return c;
}

function connect(sub: string, claims: Record<string, unknown> = {}): Promise<OxiaClient> {
  return OxiaClient.connect(node!.address, { authentication: new TokenAuthentication(() => token(sub, claims)), initTimeoutMs: 10_000, requestTimeoutMs: 10_000, logger: { warn: () => {} } });
}

async function kindOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof OxiaError ? e.kind : String(e)),
  );
}

S('data API: user and claim grants, a key prefix, no grant at all', async () => {
  node = await startStandalone({ extraArgs: [...authFlags, '--authorization-policy-file', policyFile] });
  const alice = await connect('alice');
  try {
    await alice.put('/a/1', 'v');
    assert.is(await kindOf(alice.put('/b/1', 'v')), 'PermissionDenied');
    assert.equal(await alice.list('/a/', '/a//'), ['/a/1']);
  } finally {
    await alice.close();
  }
  const carol = await connect('carol', { groups: ['readers', 'dev'] });
  try {
    assert.is(Buffer.from((await carol.get('/a/1')).value!).toString(), 'v');
    assert.is(await kindOf(carol.put('/a/2', 'v')), 'PermissionDenied');
  } finally {
    await carol.close();
  }
  // No grant on the namespace: not even its shard assignments.
  assert.is(await kindOf(connect('mallory')), 'PermissionDenied');
  const root = await raw('root');
  assert.is((await root.get(SHARD, '/b/1')).status, Status.KEY_NOT_FOUND, 'the denied put wrote nothing');
  assert.is((await root.get(SHARD, '/a/2')).status, Status.KEY_NOT_FOUND);
});

S("a session answers only to its creator, even to a principal with the write right", async () => {
  const alice = await raw('alice');
  const dave = await raw('dave');
  const id = await alice.createSession(SHARD, 10_000);
  await expectGrpcError(dave.closeSession(SHARD, id), grpc.status.PERMISSION_DENIED, /created by another principal: "dave"/);
  await expectGrpcError(dave.keepAlive(SHARD, id), grpc.status.PERMISSION_DENIED);
  await alice.closeSession(SHARD, id);
});

S('admin listener: no token is UNAUTHENTICATED, a token without admin is PERMISSION_DENIED, root may', async () => {
  cluster = await TestCluster.start({
    nodes: 1,
    namespaces: [{ name: 'default', shards: 1, rf: 1 }],
    coordinatorArgs: [...authFlags, '--authorization-policy-file', policyFile],
  });
  const address = String(cluster.coordinator.serving.publicAddress);
  const admin = async (sub: string | undefined, ...args: string[]) =>
    runCli(['admin', '--admin-address', address, ...(sub === undefined ? [] : ['--auth-token', await token(sub)]), ...args]);
  const anonymous = await admin(undefined, 'namespace', 'list', '-o', 'json');
  assert.is.not(anonymous.code, 0);
  assert.match(anonymous.stderr, /UNAUTHENTICATED|Unauthenticated|missing token/i);
  const alice = await admin('alice', 'namespace', 'create', 'orders', '--initial-shards', '1', '--replication-factor', '1');
  assert.is.not(alice.code, 0);
  assert.match(alice.stderr, /PERMISSION_DENIED|PermissionDenied|lacks the right "admin"/);
  const root = await admin('root', 'namespace', 'list', '-o', 'json');
  assert.is(root.code, 0, root.stderr);
  assert.match(root.stdout, /default/);
});

S.run();
