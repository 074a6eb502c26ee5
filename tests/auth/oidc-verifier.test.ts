// Verification of real tokens signed at test time with keys made at test time (RS256, ES256):
// what is let in, and every refusal an Unauthenticated OxiaError naming its reason: no token,
// expired, not yet valid, wrong audience, unknown issuer, tampered, another key, unknown key
// id, `alg: none`, a shared-secret algorithm. Then the cache of verified tokens.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { createOidcAuthenticator } from '../../src/adapters/auth-oidc/create-oidc-authenticator.js';
import { OidcAuthenticator } from '../../src/adapters/auth-oidc/oidc-authenticator.js';
import { parseOidcParams } from '../../src/adapters/auth-oidc/oidc-params.js';
import type { TokenVerifier } from '../../src/adapters/auth-oidc/token-verifier.js';
import { VerifiedTokenCache } from '../../src/adapters/auth-oidc/verified-token-cache.js';
import type { Authenticator } from '../../src/application/ports/authenticator.js';
import type { Logger } from '../../src/application/ports/logger.js';
import { OxiaError } from '../../src/domain/errors/oxia-error.js';
import { makeIssuer, tampered, unsigned } from '../support/tokens.js';

const dir = mkdtempSync(join(tmpdir(), 'oxia-oidc-verify-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const lines: { msg: string; fields?: Record<string, unknown> }[] = [];
const log: Logger = {
  debug: (msg, fields) => void lines.push({ msg, ...(fields ? { fields } : {}) }),
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => log,
};

const rsa = await makeIssuer('https://rsa.example', 'RS256');
const ec = await makeIssuer('https://ec.example', 'ES256');
const keyed = await makeIssuer('https://keyed.example', 'ES256', 'key-1');
const stranger = await makeIssuer('https://rsa.example', 'RS256'); // same issuer name, another key
const rotatedOut = await makeIssuer('https://two-keys.example', 'RS256');
const rotatedIn = await makeIssuer('https://two-keys.example', 'RS256');

const twoKeysFile = join(dir, 'two.pem');
writeFileSync(twoKeysFile, rotatedOut.publicPem + rotatedIn.publicPem);
const keyedFile = join(dir, 'keyed.json');
writeFileSync(keyedFile, JSON.stringify({ keys: [keyed.publicJwk] }));

const params = {
  issuers: {
    [rsa.issuer]: { allowedAudiences: 'oxia, pulsar', staticKeyFile: rsa.writePublicPem(join(dir, 'rsa.pem')) },
    [ec.issuer]: { allowedAudiences: 'oxia', userNameClaim: 'email', staticKeyFile: ec.writePublicPem(join(dir, 'ec.pem')) },
    [keyed.issuer]: { allowedAudiences: 'oxia', staticKeyFile: keyedFile },
    'https://two-keys.example': { allowedAudiences: 'oxia', staticKeyFile: twoKeysFile },
  },
};
const auth = await createOidcAuthenticator(parseOidcParams(JSON.stringify(params)), log);

const call = (token: string | undefined, certificateSubject?: Record<string, string>) =>
  auth.authenticate({ authorization: token === undefined ? undefined : `Bearer ${token}`, certificateSubject });

async function refusal(token: string | undefined, reason: string | RegExp, authenticator: Authenticator = auth): Promise<void> {
  try {
    await authenticator.authenticate({ authorization: token === undefined ? undefined : `Bearer ${token}`, certificateSubject: undefined });
  } catch (e) {
    assert.instance(e, OxiaError);
    assert.is((e as OxiaError).kind, 'Unauthenticated');
    assert.match((e as Error).message, reason);
    const signature = token?.split('.')[2] ?? '';
    if (signature.length > 16) assert.not.ok((e as Error).message.includes(signature), 'the message holds the token');
    return;
  }
  throw new Error(`a token that should fail with ${String(reason)} was accepted`);
}

test('RS256 and ES256 tokens from trusted issuers are let in, named by their user name claim', async () => {
  const alice = await call(await rsa.sign({ sub: 'alice' }));
  assert.is(alice.name, 'alice');
  assert.is(alice.user, 'alice');
  assert.is(alice.claims.iss, rsa.issuer);
  const bob = await call(await ec.sign({ sub: 'b-123', claims: { email: 'bob@example.com' } }));
  assert.is(bob.name, 'bob@example.com');
  // Any of the token's audiences among the allowed will do; the prefix is optional, as in Oxia.
  assert.is((await call(await rsa.sign({ aud: ['elsewhere', 'pulsar'] }))).name, 'alice');
  assert.is((await auth.authenticate({ authorization: await rsa.sign({ sub: 'carol' }), certificateSubject: undefined })).name, 'carol');
  // A verified client certificate stays beside the token's user.
  const both = await call(await rsa.sign({ sub: 'dave' }), { CN: 'client-1' });
  assert.equal([both.name, both.certificateSubject], ['dave', { CN: 'client-1' }]);
});

test('key ids: a JWK set selects by kid; PEM keys without ids are each tried', async () => {
  assert.is((await call(await keyed.sign({ sub: 'k' }))).name, 'k');
  assert.is((await call(await rotatedOut.sign({ sub: 'old' }))).name, 'old');
  assert.is((await call(await rotatedIn.sign({ sub: 'new' }))).name, 'new');
});

test('clock skew: a minute either way is tolerated', async () => {
  assert.is((await call(await rsa.sign({ expiresInS: -20 }))).name, 'alice');
  assert.is((await call(await rsa.sign({ notBeforeInS: 20 }))).name, 'alice');
});

test('refusals name their reason', async () => {
  await refusal(undefined, /^missing token/);
  await refusal('', /^missing token/);
  await refusal(await rsa.sign({ expiresInS: -120 }), /^token expired at \d{4}-/);
  await refusal(await rsa.sign({ notBeforeInS: 600 }), /^token not valid before \d{4}-/);
  await refusal(await rsa.sign({ aud: 'kafka' }), `token audience "kafka" is not allowed for issuer ${rsa.issuer}`);
  await refusal(await rsa.sign({ iss: 'https://evil.example' }), 'token issuer "https://evil.example" is not trusted');
  await refusal(tampered(await rsa.sign()), 'bad token signature');
  await refusal(await stranger.sign(), 'bad token signature');
  await refusal(await keyed.sign({ kid: 'key-2' }), `no key of issuer ${keyed.issuer} matches the token's key id and algorithm`);
  await refusal(unsigned({ iss: rsa.issuer, sub: 'mallory', aud: 'oxia', exp: Math.floor(Date.now() / 1000) + 600 }), /^token signing algorithm not accepted/);
  await refusal('not-a-jwt', /^malformed token/);
  await refusal('a.b.c', /^malformed token/);
  await refusal(await ec.sign(), `token has no user name: claim "email" is missing or not a text`);
});

test('a shared-secret token made with the public key as secret (algorithm confusion) is refused', async () => {
  const secret = new TextEncoder().encode(rsa.publicPem);
  const forged = await new SignJWT({ sub: 'mallory' })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(rsa.issuer)
    .setAudience('oxia')
    .setExpirationTime('1h')
    .sign(secret);
  await refusal(forged, /^token signing algorithm not accepted/);
});

test('a token without exp is refused', async () => {
  const issuer = 'https://no-exp.example';
  const { publicKey, privateKey } = await generateKeyPair('ES256', { extractable: true });
  const file = join(dir, 'no-exp.pem');
  writeFileSync(file, await exportSPKI(publicKey));
  const a = await createOidcAuthenticator(parseOidcParams(JSON.stringify({ issuers: { [issuer]: { allowedAudiences: 'oxia', staticKeyFile: file } } })), log);
  const token = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'ES256' }).setIssuer(issuer).setAudience('oxia').sign(privateKey);
  await refusal(token, 'token has no exp claim', a);
});

test('verified tokens are cached until they expire; a refusal is not cached', async () => {
  let verifications = 0;
  let nowMs = Date.now();
  const real = await createOidcAuthenticator(parseOidcParams(JSON.stringify(params)), log, { now: () => nowMs });
  const inner = (real as unknown as { verifier: TokenVerifier }).verifier;
  const counting = { verify: (t: string) => (verifications++, inner.verify(t)) } as unknown as TokenVerifier;
  const cached = new OidcAuthenticator(counting, new VerifiedTokenCache({ maxEntries: 2, maxAgeMs: 60 * 60_000 }), log, () => nowMs);

  const token = await rsa.sign({ sub: 'erin', expiresInS: 300 });
  for (let i = 0; i < 5; i++) assert.is((await cached.authenticate({ authorization: `Bearer ${token}`, certificateSubject: undefined })).name, 'erin');
  assert.is(verifications, 1);
  assert.ok(lines.some((l) => l.msg === 'token verified' && l.fields?.principal === 'erin'), 'the first verification is logged (debug) with the principal');

  const bad = tampered(token);
  await refusal(bad, 'bad token signature', cached);
  await refusal(bad, 'bad token signature', cached);
  assert.is(verifications, 3);

  // Past its expiry (and the skew) the token is verified again, and refused.
  nowMs += 400_000;
  await refusal(token, /^token expired/, cached);
  assert.is(verifications, 4);

  // Bounded: the oldest entry goes.
  nowMs = Date.now();
  const [t1, t2, t3] = await Promise.all([rsa.sign({ sub: '1' }), rsa.sign({ sub: '2' }), rsa.sign({ sub: '3' })]);
  for (const t of [t1, t2, t3, t3, t2]) await cached.authenticate({ authorization: `Bearer ${t}`, certificateSubject: undefined });
  assert.is(verifications, 4 + 3);
  await cached.authenticate({ authorization: `Bearer ${t1}`, certificateSubject: undefined });
  assert.is(verifications, 8, 'the oldest entry was evicted');
});

test.run();

