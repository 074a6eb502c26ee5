// TLS on a real `oxia-ts standalone` with certificates made by openssl at test time: the
// client library over TLS, plaintext and a foreign CA refused, mutual TLS, a rotated
// certificate served to new connections without a restart (a bad file at rotation keeps the
// old one), the metrics endpoint over HTTPS, and `oxia-ts health` with the TLS flags.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OxiaClient, type ClientTlsOptions } from '../../src/adapters/client/index.js';
import { makeCa, type CertFiles, type TestCa } from '../support/certs.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { runCli } from '../cli/support.js';
import { waitFor } from '../support/wait.js';
import { readFileSync } from 'node:fs';

const S = suite('tls: standalone');

const dir = mkdtempSync(join(tmpdir(), 'oxia-tls-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const ca = makeCa(dir, 'ca');
const otherCa = makeCa(dir, 'other-ca');
const server = ca.issue('server');
const client = ca.issue('client');
const stranger = otherCa.issue('stranger');

const trusting = (c: TestCa, identity?: CertFiles): ClientTlsOptions => ({
  ca: readFileSync(c.certFile),
  ...(identity ? { cert: readFileSync(identity.certFile), key: readFileSync(identity.keyFile) } : {}),
});

/** Connects, writes and reads one record, closes; rejects when the connection is refused. */
async function roundTrip(address: string, tls: ClientTlsOptions | undefined, key: string): Promise<void> {
  const c = await OxiaClient.connect(address, { ...(tls ? { tls } : {}), initTimeoutMs: 3_000, requestTimeoutMs: 5_000, logger: { warn: () => {} } });
  try {
    await c.put(key, 'v');
    assert.is(Buffer.from((await c.get(key)).value!).toString(), 'v');
  } finally {
    await c.close();
  }
}

async function refused(address: string, tls: ClientTlsOptions | undefined, what: string): Promise<void> {
  let connected = false;
  try {
    await roundTrip(address, tls, '/refused');
    connected = true;
  } catch {
    // expected
  }
  assert.not.ok(connected, `${what} was accepted`);
}

let node: StandaloneProcess | undefined;
S.after.each(async () => {
  await node?.stop();
  node = undefined;
});

S('server TLS: a client trusting the CA works; plaintext and a foreign CA are refused; health and metrics over TLS', async () => {
  node = await startStandalone({
    extraArgs: [
      '--tls-cert-file', server.certFile, '--tls-key-file', server.keyFile,
      '--metrics-tls-cert-file', server.certFile, '--metrics-tls-key-file', server.keyFile,
    ],
  });
  await roundTrip(node.address, trusting(ca), '/tls/a');
  await refused(node.address, undefined, 'a plaintext client');
  await refused(node.address, trusting(otherCa), 'a client trusting another CA');

  const ok = await runCli(['health', '-a', node.address, '--tls-trusted-ca-file', ca.certFile]);
  assert.is(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /SERVING/);
  const plain = await runCli(['health', '-a', node.address, '--timeout', '2s']);
  assert.is(plain.code, 1, 'health over plaintext to a TLS port must fail');
  const perf = await runCli(['perf', '-a', node.address, '--tls-trusted-ca-file', ca.certFile, '--rate', '50', '--duration', '1s', '--json']);
  assert.is(perf.code, 0, perf.stderr);
  assert.match(perf.stdout, /"type":"summary"/);

  const body = await new Promise<string>((resolve, reject) => {
    const [host, port] = [node!.metricsAddress.slice(0, node!.metricsAddress.lastIndexOf(':')), node!.metricsAddress.slice(node!.metricsAddress.lastIndexOf(':') + 1)];
    request({ host, port: Number(port), path: '/metrics', ca: readFileSync(ca.certFile) }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(text));
    })
      .on('error', reject)
      .end();
  });
  assert.match(body, /process_cpu_user_seconds_total/);
});

S('--tls-client-auth: a client certificate from the trusted CA is required', async () => {
  node = await startStandalone({
    extraArgs: ['--tls-cert-file', server.certFile, '--tls-key-file', server.keyFile, '--tls-trusted-ca-file', ca.certFile, '--tls-client-auth'],
  });
  await roundTrip(node.address, trusting(ca, client), '/mtls/a');
  await refused(node.address, trusting(ca), 'a client without a certificate');
  await refused(node.address, trusting(ca, stranger), 'a client certificate from another CA');
  const cli = await runCli(['client', '-a', node.address, '--tls-trusted-ca-file', ca.certFile, '--tls-cert-file', client.certFile, '--tls-key-file', client.keyFile, 'put', '/mtls/cli', 'x']);
  assert.is(cli.code, 0, cli.stderr);
});

S('a rotated certificate is served to new connections without a restart; a bad file at rotation keeps the old one', async () => {
  const certFile = join(dir, 'rotating.crt');
  const keyFile = join(dir, 'rotating.key');
  copyFileSync(server.certFile, certFile);
  copyFileSync(server.keyFile, keyFile);
  node = await startStandalone({ extraArgs: ['--tls-cert-file', certFile, '--tls-key-file', keyFile] });
  const address = node.address;
  const open = await OxiaClient.connect(address, { tls: trusting(ca), initTimeoutMs: 3_000, requestTimeoutMs: 10_000, logger: { warn: () => {} } });
  try {
    await open.put('/rotate/before', 'v');

    // Replace both files (as a secret update does: new files renamed into place).
    const next = otherCa.issue('server-next');
    copyFileSync(next.keyFile, `${keyFile}.tmp`);
    copyFileSync(next.certFile, `${certFile}.tmp`);
    renameSync(`${keyFile}.tmp`, keyFile);
    renameSync(`${certFile}.tmp`, certFile);
    await waitFor(
      async () => {
        try {
          await roundTrip(address, trusting(otherCa), '/rotate/after');
          return true;
        } catch {
          return false;
        }
      },
      'the rotated certificate to be served',
      30_000,
      250,
    );
    await refused(address, trusting(ca), 'a new connection trusting only the old CA');
    // The connection made before the rotation keeps going.
    await open.put('/rotate/open', 'still');

    // A broken certificate file: logged, and the certificate in service stays.
    writeFileSync(certFile, 'not a certificate');
    await waitFor(() => node!.logs().some((l) => l.includes('TLS files changed but cannot be used')), 'the bad file to be reported', 30_000, 100);
    await roundTrip(address, trusting(otherCa), '/rotate/still');
  } finally {
    await open.close();
  }
});

S('a missing certificate file fails the start, naming the file', async () => {
  const result = await runCli(['standalone', '--public-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--data-dir', join(dir, 'x-db'), '--wal-dir', join(dir, 'x-wal'), '--tls-cert-file', join(dir, 'missing.crt'), '--tls-key-file', server.keyFile]);
  assert.is(result.code, 1);
  assert.match(result.stderr, /missing\.crt/);
});

S.run();
