/**
 * The three ways a client and an `oxia-ts standalone` may talk, as the bench sets them up: in
 * plaintext; over TLS (a CA and a server certificate made with openssl at bench time); over TLS
 * with an OIDC bearer token on every call, verified by the server with a static key (an RSA
 * key pair made at bench time, the token signed with it: RS256, what issuers use by default).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCa } from '../../support/certs.js';
import { makeIssuer } from '../../support/tokens.js';
import type { OxiaConnection } from '../compare/load/drivers.js';
import type { SetupName } from './options.js';

export interface Setup {
  readonly name: SetupName;
  /** Flags added to `oxia-ts standalone`. */
  readonly serverArgs: readonly string[];
  /** How the load generator's client connects. */
  readonly connection: OxiaConnection;
  /** For the report. */
  readonly settings: string;
}

const ISSUER = 'https://issuer.bench.invalid';
const AUDIENCE = 'oxia-bench';
const USER = 'bench-client';
/** The certificate names localhost (and 127.0.0.1); naming it avoids grpc-js sending an IP as SNI. */
const SERVER_NAME = 'localhost';

/** Makes the certificates and the token under `dir` once, and returns the setups asked for. */
export async function makeSetups(dir: string, names: readonly SetupName[]): Promise<Setup[]> {
  const needsTls = names.some((n) => n !== 'plaintext');
  const ca = needsTls ? makeCa(dir, 'bench-ca') : undefined;
  const server = ca?.issue('bench-server');
  const oidc = names.some((n) => n === 'tls-oidc' || n === 'tls-token-unchecked') ? await makeToken(dir) : undefined;
  return names.map((name): Setup => {
    if (name === 'plaintext' || !ca || !server) return { name, serverArgs: [], connection: {}, settings: 'no TLS, no authentication (the defaults)' };
    const tls = { serverArgs: ['--tls-cert-file', server.certFile, '--tls-key-file', server.keyFile], connection: { caFile: ca.certFile, serverName: SERVER_NAME } };
    if (name === 'tls' || !oidc) return { name, ...tls, settings: 'TLS on the public port (EC P-256 certificate, TLS 1.3 negotiated by default), no authentication' };
    if (name === 'tls-token-unchecked') {
      return {
        name,
        ...tls,
        connection: { ...tls.connection, tokenFile: oidc.tokenFile },
        settings: 'as TLS; the client sends the token (and so each write batch as a unary call, as it does with credentials), the server has no provider and does not check it',
      };
    }
    return {
      name,
      serverArgs: [...tls.serverArgs, '--auth-provider-name', 'oidc', '--auth-provider-params', JSON.stringify(oidc.params)],
      connection: { ...tls.connection, tokenFile: oidc.tokenFile },
      settings: 'as TLS, plus --auth-provider-name oidc with a static RSA 2048 key: every call carries the same RS256 token',
    };
  });
}

/** An RS256 token for ISSUER/AUDIENCE valid for a day, and the server's params naming the public key file. */
async function makeToken(dir: string): Promise<{ tokenFile: string; params: unknown }> {
  const issuer = await makeIssuer(ISSUER, 'RS256');
  const publicKeyFile = issuer.writePublicPem(join(dir, 'issuer-public-key.pem'));
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, await issuer.sign({ sub: USER, aud: AUDIENCE, expiresInS: 24 * 3600 }));
  return { tokenFile, params: { issuers: { [ISSUER]: { allowedAudiences: AUDIENCE, userNameClaim: 'sub', staticKeyFile: publicKeyFile } } } };
}
