// `--auth-provider-name oidc --auth-provider-params '<json>'`: Oxia's two formats (legacy and
// per-issuer) with its defaults, every unusable value refused by its flag and field, and a
// static key file that cannot be used reported with its name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OidcParamsError, parseOidcParams } from '../../src/adapters/auth-oidc/oidc-params.js';
import { PublicKeyFileError, readPublicKeyFile } from '../../src/adapters/auth-oidc/public-key-file.js';
import { ConfigError } from '../../src/bootstrap/config/option-table.js';
import { parseServerConfig } from '../../src/bootstrap/config/server-config.js';
import { parseStandaloneConfig } from '../../src/bootstrap/config/standalone-config.js';
import { makeCa } from '../support/certs.js';

const dir = mkdtempSync(join(tmpdir(), 'oxia-oidc-params-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function problemsOf(json: string): string[] {
  try {
    parseOidcParams(json);
  } catch (e) {
    assert.instance(e, OidcParamsError);
    return [...(e as OidcParamsError).problems];
  }
  throw new Error(`accepted ${json}`);
}

function configProblemsOf(raw: Record<string, unknown>): string[] {
  try {
    parseStandaloneConfig(raw);
  } catch (e) {
    assert.instance(e, ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

test('legacy format: comma-separated issuers and audiences, trimmed; userNameClaim defaults to sub', () => {
  const s = parseOidcParams('{"allowedIssueURLs":"https://a.example, https://b.example/realm","allowedAudiences":"x, y,,x"}');
  assert.equal(s.issuers, [
    { issuer: 'https://a.example', audiences: ['x', 'y'], userNameClaim: 'sub', staticKeyFile: undefined },
    { issuer: 'https://b.example/realm', audiences: ['x', 'y'], userNameClaim: 'sub', staticKeyFile: undefined },
  ]);
  assert.is(parseOidcParams('{"allowedIssueURLs":"https://a","allowedAudiences":"x","userNameClaim":"email"}').issuers[0]!.userNameClaim, 'email');
});

test('issuers format: per-issuer audiences, claim and static key file; a static-key issuer need not be a URL', () => {
  const s = parseOidcParams(
    JSON.stringify({
      issuers: {
        'https://idp.example': { allowedAudiences: 'oxia,pulsar', userNameClaim: 'email' },
        'oxia-ts-dev': { allowedAudiences: 'oxia', staticKeyFile: '/keys/dev.pem' },
      },
    }),
  );
  assert.equal(s.issuers, [
    { issuer: 'https://idp.example', audiences: ['oxia', 'pulsar'], userNameClaim: 'email', staticKeyFile: undefined },
    { issuer: 'oxia-ts-dev', audiences: ['oxia'], userNameClaim: 'sub', staticKeyFile: '/keys/dev.pem' },
  ]);
});

test('what Oxia requires is required, and what it would silently ignore is an error here', () => {
  assert.match(problemsOf('{')[0]!, /^not valid JSON: /);
  assert.equal(problemsOf('[]'), ['must be a JSON object']);
  assert.equal(problemsOf('{}'), ['either "issuers" or "allowedIssueURLs" (the legacy format) is required']);
  assert.equal(problemsOf('{"allowedIssueURLs":"https://a"}'), ['allowedAudiences is required and must not be empty']);
  assert.equal(problemsOf('{"allowedIssueURLs":" , ","allowedAudiences":"x"}'), ['allowedIssueURLs is required and must not be empty']);
  assert.equal(problemsOf('{"allowedIssueURLs":"a.example","allowedAudiences":"x"}'), ['allowedIssueURLs: "a.example" is not a URL (its keys are found through OIDC discovery)']);
  assert.equal(problemsOf('{"allowedIssueURLs":"ftp://a","allowedAudiences":"x"}'), ['allowedIssueURLs: "ftp://a" must be an https (or http) URL']);
  assert.equal(problemsOf('{"issuers":{}}'), ['"issuers" must map at least one issuer URL to its settings']);
  assert.equal(problemsOf('{"issuers":{"https://a":{}}}'), ['issuers["https://a"].allowedAudiences is required and must not be empty']);
  assert.equal(problemsOf('{"issuers":{"https://a":{"allowedAudiences":"x","staticKeyfile":"/k.pem"}}}'), [
    'unknown field(s) "staticKeyfile" in issuers["https://a"] (known: allowedAudiences, userNameClaim, staticKeyFile)',
  ]);
  assert.equal(problemsOf('{"issuers":{"https://a":{"allowedAudiences":"x"}},"allowedAudiences":"y"}'), [
    '"issuers" and the legacy field(s) allowedAudiences exclude each other: put them under each issuer',
  ]);
  assert.equal(problemsOf('{"issuers":{"https://a":{"allowedAudiences":"x","userNameClaim":7}}}'), ['issuers["https://a"].userNameClaim must be a non-empty text']);
});

test('the flags: provider name and params checked together, every problem named by its flag (server and standalone alike)', () => {
  const ok = parseStandaloneConfig({ 'auth-provider-name': 'oidc', 'auth-provider-params': '{"allowedIssueURLs":"https://a","allowedAudiences":"x"}' });
  assert.is(ok.authentication?.provider, 'oidc');
  assert.is(parseStandaloneConfig({}).authentication, undefined);
  assert.is(parseServerConfig({ 'auth-provider-name': 'oidc', 'auth-provider-params': '{"issuers":{"i":{"allowedAudiences":"x","staticKeyFile":"/k"}}}' }).authentication?.oidc.issuers[0]!.issuer, 'i');

  assert.equal(configProblemsOf({ 'auth-provider-name': 'ldap', 'auth-provider-params': '{}' }), ['--auth-provider-name: unknown provider "ldap"; supported: oidc']);
  assert.equal(configProblemsOf({ 'auth-provider-name': 'oidc' }), ['--auth-provider-params: required with --auth-provider-name oidc']);
  assert.equal(configProblemsOf({ 'auth-provider-params': '{}' }), ['--auth-provider-params: needs --auth-provider-name']);
  assert.equal(configProblemsOf({ 'auth-provider-name': 'oidc', 'auth-provider-params': '{"issuers":{"https://a":{}}}' }), [
    '--auth-provider-params: issuers["https://a"].allowedAudiences is required and must not be empty',
  ]);
  // A YAML config file may give the params as a mapping.
  const yaml = parseStandaloneConfig({ 'auth-provider-name': 'oidc', 'auth-provider-params': { issuers: { 'https://a': { allowedAudiences: 'x' } } } });
  assert.equal(yaml.authentication?.oidc.issuers.map((i) => i.issuer), ['https://a']);
});

test('static key file: PEM public keys (SPKI, PKCS#1 RSA, EC PUBLIC KEY), a certificate, a JWK set; other blocks skipped', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = rsa.publicKey.export({ format: 'pem', type: 'spki' }) as string;
  const pkcs1 = rsa.publicKey.export({ format: 'pem', type: 'pkcs1' }) as string;
  const ecPem = (ec.publicKey.export({ format: 'pem', type: 'spki' }) as string).replace(/PUBLIC KEY/g, 'EC PUBLIC KEY');
  const ca = makeCa(dir, 'key-file-ca');
  const file = join(dir, 'keys.pem');
  writeFileSync(file, `comment\n${spki}\n-----BEGIN SOMETHING ELSE-----\nAAAA\n-----END SOMETHING ELSE-----\n${pkcs1}${ecPem}${readFileSync(ca.certFile, 'utf8')}`);
  const keys = readPublicKeyFile(file);
  assert.equal(keys.map((k) => k.kty), ['RSA', 'RSA', 'EC', 'EC']);
  assert.ok(keys.every((k) => k.d === undefined && k.kid === undefined));

  const jwks = join(dir, 'keys.json');
  writeFileSync(jwks, JSON.stringify({ keys: [{ ...ec.publicKey.export({ format: 'jwk' }), kid: 'k1' }] }));
  assert.equal(readPublicKeyFile(jwks).map((k) => k.kid), ['k1']);
});

test('static key file that cannot be used: named in the error, and never its content', () => {
  const errorOf = (path: string): string => {
    try {
      readPublicKeyFile(path);
    } catch (e) {
      assert.instance(e, PublicKeyFileError);
      return (e as Error).message;
    }
    throw new Error(`accepted ${path}`);
  };
  const missing = join(dir, 'missing.pem');
  assert.match(errorOf(missing), `cannot read the static key file ${missing}`);
  const empty = join(dir, 'empty.pem');
  writeFileSync(empty, 'no key here\n');
  assert.match(errorOf(empty), `the static key file ${empty} holds no public key`);
  const priv = join(dir, 'private.pem');
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  writeFileSync(priv, pem);
  const message = errorOf(priv);
  assert.match(message, 'holds a private key');
  assert.not.match(message, pem.split('\n')[1]!);
  const broken = join(dir, 'broken.pem');
  writeFileSync(broken, '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
  assert.match(errorOf(broken), `the PUBLIC KEY block of the static key file ${broken} is unreadable`);
  const privateJwk = join(dir, 'private.json');
  writeFileSync(privateJwk, JSON.stringify(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })));
  assert.match(errorOf(privateJwk), 'is a private or secret key');
});

test.run();
