// Keys through OIDC discovery over HTTPS: a loopback issuer in this test (certificate from a
// CA made here) serves its discovery document and JWKS; a real `oxia-ts standalone`, in Oxia's
// legacy params format, trusts that CA through NODE_EXTRA_CA_CERTS (and refuses to start
// without it). Calls with fresh tokens do not fetch the key set again; a rotated-in key (new
// kid) is picked up; tokens naming unknown keys do not make the server hammer the issuer.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OxiaClient, OxiaError, TokenAuthentication } from '../../src/adapters/client/index.js';
import { makeCa } from '../support/certs.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { makeIssuer, type TestIssuer } from '../support/tokens.js';
import { waitFor } from '../support/wait.js';

const S = suite('auth: oidc discovery and JWKS over HTTPS');

const dir = mkdtempSync(join(tmpdir(), 'oxia-oidc-jwks-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const ca = makeCa(dir, 'idp-ca');
const idpCert = ca.issue('idp');

/** The issuer: its discovery document and a key set the test can change; requests counted. */
const requests = { discovery: 0, jwks: 0 };
let keys: TestIssuer[] = [];
let issuerUrl = '';
let idp: Server;
let node: StandaloneProcess | undefined;

S.before(async () => {
  idp = createServer({ cert: readFileSync(idpCert.certFile), key: readFileSync(idpCert.keyFile) }, (req, res) => {
    const json = (body: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (req.url === '/.well-known/openid-configuration') {
      requests.discovery++;
      json({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/keys`, id_token_signing_alg_values_supported: ['RS256', 'ES256'] });
    } else if (req.url === '/keys') {
      requests.jwks++;
      json({ keys: keys.map((k) => k.publicJwk) });
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const address = idp.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  issuerUrl = `https://127.0.0.1:${address.port}`;
  keys = [await makeIssuer(issuerUrl, 'RS256', 'key-1')];
});
S.after(async () => {
  await node?.stop();
  await new Promise((resolve) => idp.close(resolve));
});

const params = (): string => JSON.stringify({ allowedIssueURLs: issuerUrl, allowedAudiences: 'oxia' });
const authFlags = (): string[] => ['--auth-provider-name', 'oidc', '--auth-provider-params', params()];

S('without the issuer CA trusted, the server does not start, and says why', async () => {
  try {
    await startStandalone({ extraArgs: authFlags() });
    assert.unreachable('started without trusting the issuer');
  } catch (e) {
    const message = (e as Error).message;
    assert.match(message, /exited before serving \(code 1/);
    assert.match(message, `OIDC discovery of issuer ${issuerUrl} failed`);
    assert.match(message, /certificate/);
  }
});

S('trusting the CA through NODE_EXTRA_CA_CERTS: discovery and one key set fetch at start, none per call', async () => {
  requests.discovery = requests.jwks = 0;
  node = await startStandalone({ extraArgs: authFlags(), env: { NODE_EXTRA_CA_CERTS: ca.certFile } });
  assert.equal(requests, { discovery: 1, jwks: 1 });

  // A fresh token on every call (a jti), so that the verified-token cache cannot answer.
  const client = await OxiaClient.connect(node.address, {
    authentication: new TokenAuthentication(() => keys[0]!.sign({ sub: 'svc', claims: { jti: randomUUID() } })),
    requestTimeoutMs: 10_000,
    logger: { warn: () => {} },
  });
  try {
    for (let i = 0; i < 30; i++) await client.put(`/jwks/${i}`, 'v');
    assert.is((await client.list('/jwks/', '/jwks//')).length, 30);
  } finally {
    await client.close();
  }
  assert.equal(requests, { discovery: 1, jwks: 1 }, 'the key set is not fetched per call');
});

S('a rotated-in key (new kid) is picked up by one fetch; unknown kids are rate-limited', async () => {
  assert.ok(node, 'needs the server of the previous test');
  const rotated = await makeIssuer(issuerUrl, 'ES256', 'key-2');
  const before = requests.jwks;
  keys = [keys[0]!, rotated];

  let token = await rotated.sign({ sub: 'rotated' });
  // Within the refresh cooldown after the previous fetch a new kid is refused: retried until accepted.
  let client: OxiaClient | undefined;
  await waitFor(async () => {
    client = await OxiaClient.connect(node!.address, { authentication: new TokenAuthentication(() => token), initTimeoutMs: 5_000, requestTimeoutMs: 10_000, logger: { warn: () => {} } });
    return true;
  }, 'a token with the rotated-in key to be accepted', 30_000, 250);
  try {
    await client!.put('/rotated', 'yes');
    const afterRotation = requests.jwks;
    assert.ok(afterRotation > before, 'the key set was fetched again for the new kid');

    // Tokens naming keys the issuer never had: refused, and at most one more fetch per cooldown.
    const ghost = await makeIssuer(issuerUrl, 'RS256', 'ghost');
    const started = Date.now();
    for (let i = 0; i < 20; i++) {
      token = await ghost.sign({ claims: { jti: randomUUID() } });
      try {
        await client!.put('/ghost', 'no');
        assert.unreachable('a token with an unknown kid was let in');
      } catch (e) {
        assert.instance(e, OxiaError);
        assert.is((e as OxiaError).kind, 'Unauthenticated', String(e));
        assert.match((e as Error).message, /no key of issuer .* matches/);
      }
    }
    // One fetch per 5 s cooldown at most (plus one for the window the loop started in).
    const allowed = 1 + Math.ceil((Date.now() - started) / 5_000);
    assert.ok(requests.jwks - afterRotation <= allowed, `20 unknown-kid calls fetched the key set ${requests.jwks - afterRotation} times (at most ${allowed})`);
    assert.is(requests.discovery, 1, 'discovery happens once, at start');
  } finally {
    await client!.close();
  }
});

S.run();
