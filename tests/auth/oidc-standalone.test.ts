// A real `oxia-ts standalone` with `--auth-provider-name oidc` and a static key made at test
// time: our client with TokenAuthentication works (put, get, list, an ephemeral record in a
// session); without a token, or with an expired, wrong-audience, wrong-issuer or tampered one,
// the client gets an Unauthenticated error, at connect and on a write, and nothing is written.
// Configuration that cannot work stops the start with exit code 2 and the flag or file named.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyNotFoundError, OxiaClient, OxiaError, TokenAuthentication } from '../../src/adapters/client/index.js';
import { runCli } from '../cli/support.js';
import { startStandalone, type StandaloneProcess } from '../support/standalone.js';
import { makeIssuer, tampered } from '../support/tokens.js';
import { waitFor } from '../support/wait.js';

const S = suite('auth: oidc on a standalone server');

const dir = mkdtempSync(join(tmpdir(), 'oxia-oidc-e2e-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const issuer = await makeIssuer('https://issuer.oxia.test', 'RS256');
const keyFile = issuer.writePublicPem(join(dir, 'issuer.pem'));
const params = JSON.stringify({ issuers: { [issuer.issuer]: { allowedAudiences: 'oxia,pulsar', staticKeyFile: keyFile } } });
const authFlags = ['--auth-provider-name', 'oidc', '--auth-provider-params', params];

let node: StandaloneProcess;
S.before(async () => {
  node = await startStandalone({ shards: 2, extraArgs: [...authFlags, '--log-level', 'debug'] });
});
S.after(async () => {
  await node?.stop();
});

const quiet = { warn: () => {} };
function connect(token: () => string | Promise<string>): Promise<OxiaClient> {
  return OxiaClient.connect(node.address, { authentication: new TokenAuthentication(token), initTimeoutMs: 10_000, requestTimeoutMs: 10_000, logger: quiet });
}

async function unauthenticated(what: string, attempt: () => Promise<unknown>): Promise<string> {
  try {
    await attempt();
  } catch (e) {
    assert.instance(e, OxiaError, `${what}: ${String(e)}`);
    assert.is((e as OxiaError).kind, 'Unauthenticated', `${what}: ${String(e)}`);
    return (e as Error).message;
  }
  throw new Error(`${what} was let in`);
}

S('a valid token: put, get, list and an ephemeral record in a session; the principal is in the debug log', async () => {
  const client = await connect(() => issuer.sign({ sub: 'alice', aud: 'pulsar' }));
  try {
    await client.put('/auth/a', 'one');
    await client.put('/auth/b', 'two');
    assert.is(Buffer.from((await client.get('/auth/a')).value!).toString(), 'one');
    assert.equal(await client.list('/auth/', '/auth//'), ['/auth/a', '/auth/b']);
    const eph = await client.put('/auth/ephemeral', 'e', { ephemeral: true });
    assert.ok(eph.version.sessionId !== undefined && eph.version.sessionId !== 0, 'the record belongs to a session');
  } finally {
    await client.close();
  }
  await waitFor(() => node.logs().some((l) => l.includes('"msg":"token verified"') && l.includes('"principal":"alice"')), 'a "token verified" debug line naming alice');
});

S('no token, expired, wrong audience, wrong issuer, tampered: Unauthenticated at connect and on a write; nothing written', async () => {
  const good = await issuer.sign({ sub: 'alice' });
  const other = await makeIssuer('https://elsewhere.test', 'RS256');
  const bad: Record<string, string> = {
    'no token': '',
    expired: await issuer.sign({ expiresInS: -300 }),
    'wrong audience': await issuer.sign({ aud: 'kafka' }),
    'wrong issuer': await other.sign(),
    tampered: tampered(good),
    'another key': await (await makeIssuer(issuer.issuer, 'RS256')).sign(),
  };
  const reasons: Record<string, RegExp> = {
    'no token': /missing token/,
    expired: /token expired/,
    'wrong audience': /audience "kafka" is not allowed/,
    'wrong issuer': /issuer "https:\/\/elsewhere.test" is not trusted/,
    tampered: /bad token signature/,
    'another key': /bad token signature/,
  };
  for (const [what, token] of Object.entries(bad)) {
    const atConnect = await unauthenticated(`connect with ${what}`, () => connect(() => token));
    assert.match(atConnect, reasons[what]!, `connect with ${what}: ${atConnect}`);
    // Connected with a good token, then the token goes bad: the write itself is refused.
    let current = good;
    const client = await connect(() => current);
    try {
      current = token;
      const onWrite = await unauthenticated(`put with ${what}`, () => client.put(`/refused/${what}`, 'x'));
      assert.match(onWrite, reasons[what]!, `put with ${what}: ${onWrite}`);
      await unauthenticated(`get with ${what}`, () => client.get('/auth/a'));
      current = good;
    } finally {
      await client.close();
    }
  }
  const reader = await connect(() => good);
  try {
    assert.equal(await reader.list('/refused/', '/refused//'), []);
    for (const what of Object.keys(bad)) {
      try {
        await reader.get(`/refused/${what}`);
        assert.unreachable(`/refused/${what} was written`);
      } catch (e) {
        assert.instance(e, KeyNotFoundError);
      }
    }
  } finally {
    await reader.close();
  }
});

S('unknown provider, bad params, an unusable key file: exit 2, the flag or the file named', async () => {
  const base = ['standalone', '--public-addr', '127.0.0.1:0', '--metrics-addr', '127.0.0.1:0', '--data-dir', join(dir, 'db'), '--wal-dir', join(dir, 'wal')];
  const unknown = await runCli([...base, '--auth-provider-name', 'ldap', '--auth-provider-params', '{}']);
  assert.is(unknown.code, 2, unknown.stderr);
  assert.match(unknown.stderr, '--auth-provider-name: unknown provider "ldap"; supported: oidc');
  const json = await runCli([...base, '--auth-provider-name', 'oidc', '--auth-provider-params', '{"issuers":']);
  assert.is(json.code, 2, json.stderr);
  assert.match(json.stderr, '--auth-provider-params: not valid JSON');
  const missingFile = join(dir, 'no-such-key.pem');
  const file = await runCli([
    ...base,
    '--auth-provider-name', 'oidc',
    '--auth-provider-params', JSON.stringify({ issuers: { [issuer.issuer]: { allowedAudiences: 'oxia', staticKeyFile: missingFile } } }),
  ]);
  assert.is(file.code, 2, file.stderr);
  assert.match(file.stderr, `--auth-provider-params: cannot read the static key file ${missingFile}`);
});

S.run();
