/**
 * What `oxia-ts cluster --secure` adds: TLS on every port, mutual TLS on the internal ones,
 * OIDC tokens on the public ones, all from files it makes under <dir>/secure/ (kept and reused
 * across runs while valid, so that clients keep trusting the same CA):
 *
 *   ca.crt, ca.key                      the local CA
 *   server.crt, server.key              every listener (127.0.0.1, localhost)
 *   peer.crt, peer.key                  servers' and coordinator's calls to internal ports
 *   client.crt, client.key              for people and tools calling an internal port (mutual TLS)
 *   token-signing.key, token-signing.pub.pem   the token issuer's key pair (ES256)
 *   client.token                        a token for the public ports, issued at every start
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SignJWT } from 'jose';
import { openLocalCa, type PemFiles } from './local-ca.js';

/** The token issuer of a secure dev cluster: compared with `iss`, no URL needed with a static key. */
export const DEV_ISSUER = 'oxia-ts-cluster';
export const DEV_AUDIENCE = 'oxia';
export const DEV_USER = 'oxia-ts-dev';
/** The name every certificate carries and callers check (besides 127.0.0.1). */
export const DEV_SERVER_NAME = 'localhost';

const CA_VALIDITY_DAYS = 365;
const LEAF_MARGIN_MS = 24 * 60 * 60 * 1000;
const TOKEN_VALIDITY_S = 7 * 24 * 60 * 60;

export interface SecureCluster {
  readonly dir: string;
  readonly caFile: string;
  /** What callers check the certificates against (also valid: 127.0.0.1). */
  readonly serverName: string;
  readonly server: PemFiles;
  readonly peer: PemFiles;
  readonly client: PemFiles;
  readonly tokenPublicKeyFile: string;
  readonly tokenFile: string;
  /** The token's user (its `sub`, the principal's name). */
  readonly user: string;
  readonly token: string;
  readonly tokenExpiresAt: Date;
  /** Flags of `oxia-ts server`: TLS everywhere, mutual TLS inside, tokens on the public port. */
  serverArgs(): string[];
  /** Flags of `oxia-ts coordinator`: its internal listener on mutual TLS, its calls to servers too, its public one (admin API, console) on TLS with tokens. */
  coordinatorArgs(): string[];
  /** Flags of `oxia-ts client` (and perf, health on a public port). */
  clientArgs(): string[];
}

export async function prepareSecureCluster(clusterDir: string): Promise<SecureCluster> {
  const dir = join(clusterDir, 'secure');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = (name: string): PemFiles => ({ certFile: join(dir, `${name}.crt`), keyFile: join(dir, `${name}.key`) });
  const caFiles = files('ca');
  const ca = await openLocalCa(caFiles, 'oxia-ts cluster CA', CA_VALIDITY_DAYS);
  const server = files('server');
  const peer = files('peer');
  const client = files('client');
  for (const [leaf, name, use] of [[server, 'oxia-ts-server', 'server'], [peer, 'oxia-ts-peer', 'client'], [client, 'oxia-ts-client', 'client']] as const) {
    if (!ca.stillIssues(leaf.certFile, LEAF_MARGIN_MS) || !existsSync(leaf.keyFile)) await ca.issue(leaf, name, use);
  }

  const signingKeyFile = join(dir, 'token-signing.key');
  const tokenPublicKeyFile = join(dir, 'token-signing.pub.pem');
  if (!existsSync(signingKeyFile) || !existsSync(tokenPublicKeyFile)) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(signingKeyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    writeFileSync(tokenPublicKeyFile, publicKey.export({ format: 'pem', type: 'spki' }));
  }
  const nowS = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(DEV_USER)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + TOKEN_VALIDITY_S)
    .sign(createPrivateKey(readFileSync(signingKeyFile)));
  const tokenFile = join(dir, 'client.token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });

  const authParams = JSON.stringify({ issuers: { [DEV_ISSUER]: { allowedAudiences: DEV_AUDIENCE, staticKeyFile: tokenPublicKeyFile } } });
  const listener = (prefix: string, clientAuth: boolean): string[] => [
    `--${prefix}tls-cert-file`, server.certFile, `--${prefix}tls-key-file`, server.keyFile,
    ...(clientAuth ? [`--${prefix}tls-trusted-ca-file`, caFiles.certFile, `--${prefix}tls-client-auth`] : []),
  ];
  const peerCalls = ['--peer-tls-cert-file', peer.certFile, '--peer-tls-key-file', peer.keyFile, '--peer-tls-trusted-ca-file', caFiles.certFile, '--peer-tls-server-name', DEV_SERVER_NAME];
  const metrics = ['--metrics-tls-cert-file', server.certFile, '--metrics-tls-key-file', server.keyFile];

  return {
    dir,
    caFile: caFiles.certFile,
    serverName: DEV_SERVER_NAME,
    server,
    peer,
    client,
    tokenPublicKeyFile,
    tokenFile,
    user: DEV_USER,
    token,
    tokenExpiresAt: new Date((nowS + TOKEN_VALIDITY_S) * 1000),
    serverArgs: () => [...listener('', false), ...listener('internal-', true), ...peerCalls, ...metrics, '--auth-provider-name', 'oidc', '--auth-provider-params', authParams],
    // Its public listener (admin API, web console) is a public port too: TLS and tokens.
    coordinatorArgs: () => [...listener('', true), ...listener('public-', false), ...peerCalls, ...metrics, '--auth-provider-name', 'oidc', '--auth-provider-params', authParams],
    clientArgs: () => ['--tls-trusted-ca-file', caFiles.certFile, '--tls-server-name', DEV_SERVER_NAME, '--auth-token-file', tokenFile],
  };
}
