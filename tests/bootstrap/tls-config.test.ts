// The TLS settings of the roles, as the flags give them: Oxia's names and version codes,
// the listener/peer/metrics sets of each role, and every inconsistency named by its flag.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCoordinatorConfig } from '../../src/bootstrap/config/coordinator-config.js';
import { ConfigError } from '../../src/bootstrap/config/option-table.js';
import { parseServerConfig, type ServerRawOptions } from '../../src/bootstrap/config/server-config.js';
import { parseStandaloneConfig } from '../../src/bootstrap/config/standalone-config.js';

function problemsOf(raw: ServerRawOptions): string[] {
  try {
    parseServerConfig(raw);
  } catch (e) {
    assert.instance(e, ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

test('no TLS flags: plaintext everywhere', () => {
  const c = parseServerConfig({});
  assert.is(c.publicTls, undefined);
  assert.is(c.internalTls, undefined);
  assert.is(c.peerTls, undefined);
  assert.is(c.metricsTls, undefined);
});

test('server: public, internal, peer and metrics sets, Oxia version codes (decimal or hex)', () => {
  const c = parseServerConfig({
    'tls-cert-file': 'p.crt', 'tls-key-file': 'p.key', 'tls-min-version': '772',
    'internal-tls-cert-file': 'i.crt', 'internal-tls-key-file': 'i.key', 'internal-tls-trusted-ca-file': 'ca.crt', 'internal-tls-client-auth': 'true',
    'internal-tls-min-version': '0x0303', 'internal-tls-max-version': 772,
    'peer-tls-trusted-ca-file': 'ca.crt', 'peer-tls-server-name': 'oxia.internal',
    'metrics-tls-cert-file': 'm.crt', 'metrics-tls-key-file': 'm.key',
  });
  assert.equal(c.publicTls, { certFile: 'p.crt', keyFile: 'p.key', trustedCaFile: undefined, clientAuth: false, minVersion: 'TLSv1.3', maxVersion: undefined });
  assert.equal(c.internalTls, { certFile: 'i.crt', keyFile: 'i.key', trustedCaFile: 'ca.crt', clientAuth: true, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3' });
  assert.equal(c.peerTls, { certFile: undefined, keyFile: undefined, trustedCaFile: 'ca.crt', serverName: 'oxia.internal', insecureSkipVerify: false });
  assert.equal(c.metricsTls, { certFile: 'm.crt', keyFile: 'm.key' });
});

test('0 (Oxia\'s default) means the default; other version codes are refused by name', () => {
  assert.is(parseServerConfig({ 'tls-cert-file': 'a', 'tls-key-file': 'b', 'tls-min-version': '0' }).publicTls?.minVersion, 'TLSv1.2');
  for (const bad of ['770', '769', '1.2', 'TLSv1.3', '773']) {
    const problems = problemsOf({ 'tls-cert-file': 'a', 'tls-key-file': 'b', 'tls-min-version': bad });
    assert.equal(problems, [`--tls-min-version: must be a TLS version code: 771 (TLS 1.2) or 772 (TLS 1.3), got "${bad}"`]);
  }
});

test('inconsistent sets are reported, each by its flag', () => {
  assert.equal(problemsOf({ 'tls-key-file': 'k', 'tls-client-auth': true }), [
    '--tls-key-file: needs --tls-cert-file (TLS is on when a certificate is given)',
    '--tls-client-auth: needs --tls-cert-file (TLS is on when a certificate is given)',
  ]);
  assert.equal(problemsOf({ 'internal-tls-cert-file': 'c' }), ['--internal-tls-key-file: required with --internal-tls-cert-file']);
  assert.equal(problemsOf({ 'internal-tls-cert-file': 'c', 'internal-tls-key-file': 'k', 'internal-tls-client-auth': true }), [
    '--internal-tls-trusted-ca-file: required by --internal-tls-client-auth (the CAs client certificates must come from)',
  ]);
  assert.equal(problemsOf({ 'tls-cert-file': 'c', 'tls-key-file': 'k', 'tls-min-version': 772, 'tls-max-version': 771 }), ['--tls-max-version: below --tls-min-version']);
  assert.equal(problemsOf({ 'peer-tls-cert-file': 'c' }), ['--peer-tls-key-file: required with --peer-tls-cert-file']);
  assert.equal(problemsOf({ 'metrics-tls-key-file': 'k' }), ['--metrics-tls-cert-file: required with --metrics-tls-key-file']);
});

test("coordinator: --tls-* is its internal listener, --peer-tls-* its calls to servers; standalone: the public set", () => {
  const c = parseCoordinatorConfig({ conf: 'cluster.yaml', 'tls-cert-file': 'c.crt', 'tls-key-file': 'c.key', 'peer-tls-insecure-skip-verify': 'true' });
  assert.is(c.internalTls?.certFile, 'c.crt');
  assert.is(c.peerTls?.insecureSkipVerify, true);
  const s = parseStandaloneConfig({ 'tls-cert-file': 's.crt', 'tls-key-file': 's.key', 'tls-trusted-ca-file': 'ca.crt', 'tls-client-auth': true });
  assert.is(s.publicTls?.clientAuth, true);
  assert.throws(() => parseStandaloneConfig({ 'internal-tls-cert-file': 'x' } as never), (e: unknown) => e instanceof ConfigError && /unknown setting/.test(e.message));
});

test.run();
