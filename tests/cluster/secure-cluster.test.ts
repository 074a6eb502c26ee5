// `oxia-ts cluster --secure`: the files it makes (a CA kept across runs, certificates for
// 127.0.0.1 and localhost, a token signing key, a token that verifies), then the command run
// as a child process: the printed command line puts and gets over TLS with the printed token,
// the library client does too, and a call without the token or over plaintext is refused.
import { spawn } from 'node:child_process';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jwtVerify } from 'jose';
import { OxiaClient, OxiaError, TokenAuthentication } from '../../src/adapters/client/index.js';
import { OXIA_TS_BIN } from '../../src/bootstrap/dev-cluster/role-process.js';
import { DEV_AUDIENCE, DEV_ISSUER, prepareSecureCluster } from '../../src/bootstrap/dev-cluster/secure-cluster.js';
import { runCli } from '../cli/support.js';
import { waitFor } from '../support/wait.js';

const dir = mkdtempSync(join(tmpdir(), 'oxia-secure-cluster-'));
const live = new Set<ReturnType<typeof spawn>>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('the secure files: a CA kept across runs, certificates for 127.0.0.1 and localhost, private keys for the owner only, a token that verifies', async () => {
  const filesDir = join(dir, 'files');
  const first = await prepareSecureCluster(filesDir);
  const second = await prepareSecureCluster(filesDir);
  assert.is(readFileSync(second.caFile, 'utf8'), readFileSync(first.caFile, 'utf8'), 'the CA is reused');
  assert.is(readFileSync(second.server.certFile, 'utf8'), readFileSync(first.server.certFile, 'utf8'), 'a valid certificate is reused');

  const ca = new X509Certificate(readFileSync(first.caFile));
  assert.ok(ca.ca, 'the CA certificate is a CA');
  for (const leaf of [first.server, first.peer, first.client]) {
    const cert = new X509Certificate(readFileSync(leaf.certFile));
    assert.ok(cert.checkIssued(ca) && cert.verify(ca.publicKey), `${leaf.certFile} is issued and signed by the CA`);
    assert.is(cert.checkIP('127.0.0.1'), '127.0.0.1');
    assert.is(cert.checkHost('localhost'), 'localhost');
    assert.not.ok(cert.ca);
    assert.is(statSync(leaf.keyFile).mode & 0o077, 0, `${leaf.keyFile} is readable by its owner only`);
  }
  assert.is(statSync(first.tokenFile).mode & 0o077, 0);

  const { payload } = await jwtVerify(readFileSync(second.tokenFile, 'utf8').trim(), createPublicKey(readFileSync(second.tokenPublicKeyFile)), {
    issuer: DEV_ISSUER,
    audience: DEV_AUDIENCE,
  });
  assert.is(payload.sub, second.user);
});

test('cluster --secure: the printed command works over TLS with the printed token; without it, or in plaintext, refused', async () => {
  const child = spawn(process.execPath, [OXIA_TS_BIN, 'cluster', '--secure', '--dir', join(dir, 'cluster'), '--nodes', '2', '--replication-factor', '2', '--shards', '2', '--base-port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      live.delete(child);
      resolve(code);
    }),
  );
  try {
    await waitFor(() => /\n {2}try: .*\n/.test(out) || child.exitCode !== null, 'the ready lines', 180_000, 100);
    const address = /ready; clients connect to (\S+)/.exec(out)?.[1];
    const tryLine = /\n {2}try: npx oxia-ts (.*)\n/.exec(out)?.[1];
    const token = /\n {2}token \(user oxia-ts-dev, until [^)]*\):\n {4}(\S+)\n/.exec(out)?.[1];
    assert.ok(address && tryLine && token, `the address, the token and the command are printed:\n${out}`);
    assert.not.match(tryLine!, /'/, 'no quoting needed for these paths');

    const args = tryLine!.split(' ');
    assert.equal(args.slice(-3), ['put', '/hello', 'world']);
    const put = await runCli(args);
    assert.is(put.code, 0, `${put.stdout}\n${put.stderr}`);
    const get = await runCli([...args.slice(0, -3), 'get', '/hello']);
    assert.is(get.code, 0, get.stderr);
    assert.is(get.stdout.trim(), 'world');

    // The same TLS flags without the token file: refused by the server, which says why.
    const withoutToken = args.slice(0, -3).filter((a, i, all) => a !== '--auth-token-file' && all[i - 1] !== '--auth-token-file');
    const refused = await runCli([...withoutToken, '--request-timeout', '5s', 'get', '/hello']);
    assert.is(refused.code, 1, refused.stdout);
    assert.match(refused.stderr, 'missing token');

    // The library: TLS with the cluster CA and the printed token; plaintext is refused.
    const ca = readFileSync(join(dir, 'cluster', 'secure', 'ca.crt'));
    const client = await OxiaClient.connect(address!, { tls: { ca, serverName: 'localhost' }, authentication: new TokenAuthentication(token!), requestTimeoutMs: 20_000, logger: { warn: () => {} } });
    try {
      assert.is(Buffer.from((await client.get('/hello')).value!).toString(), 'world');
    } finally {
      await client.close();
    }
    let plaintext: unknown;
    try {
      const c = await OxiaClient.connect(address!, { authentication: new TokenAuthentication(token!), initTimeoutMs: 2_000, logger: { warn: () => {} } });
      await c.close();
    } catch (e) {
      plaintext = e;
    }
    assert.instance(plaintext, OxiaError, 'a plaintext client is refused');
  } finally {
    child.kill('SIGINT');
    assert.is(await exited, 0, `SIGINT stops the cluster cleanly:\n${out}`);
  }
});

test.run();
