// Token issuers made at test time: a fresh key pair (RS256 or ES256) per issuer, its public
// key as PEM or JWK for the server, and signed JWTs with whatever claims a test wants. Nothing
// is fixed in the repository: keys are generated in memory, files go where the test says.
import { writeFileSync } from 'node:fs';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export type TestAlg = 'RS256' | 'ES256';

export interface TokenOptions {
  /** Default: the issuer's. */
  readonly iss?: string;
  readonly sub?: string;
  /** Default: "oxia". */
  readonly aud?: string | string[];
  /** Seconds from now; default 3600. Negative: already expired. */
  readonly expiresInS?: number;
  /** Seconds from now, when given. */
  readonly notBeforeInS?: number;
  /** Default: the issuer's key id (none for PEM issuers). */
  readonly kid?: string | null;
  readonly claims?: JWTPayload;
}

export interface TestIssuer {
  readonly issuer: string;
  readonly alg: TestAlg;
  readonly kid: string | undefined;
  readonly publicJwk: JWK;
  readonly publicPem: string;
  sign(options?: TokenOptions): Promise<string>;
  /** Writes the public key (PEM) to `file`; returns the path. */
  writePublicPem(file: string): string;
}

export async function makeIssuer(issuer: string, alg: TestAlg = 'RS256', kid?: string): Promise<TestIssuer> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), ...(kid === undefined ? {} : { kid }), alg, use: 'sig' };
  const publicPem = await exportSPKI(publicKey);
  return {
    issuer,
    alg,
    kid,
    publicJwk,
    publicPem,
    sign: (options = {}) => signToken(privateKey, alg, { iss: issuer, kid: kid ?? null, ...options }),
    writePublicPem(file) {
      writeFileSync(file, publicPem);
      return file;
    },
  };
}

async function signToken(key: CryptoKey, alg: string, o: TokenOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, typ: 'JWT', ...(o.kid ? { kid: o.kid } : {}) };
  let jwt = new SignJWT({ ...(o.claims ?? {}) })
    .setProtectedHeader(header)
    .setIssuer(o.iss!)
    .setSubject(o.sub ?? 'alice')
    .setAudience(o.aud ?? 'oxia')
    .setIssuedAt(now)
    .setExpirationTime(now + (o.expiresInS ?? 3600));
  if (o.notBeforeInS !== undefined) jwt = jwt.setNotBefore(now + o.notBeforeInS);
  return jwt.sign(key);
}

/** The same token with one character of its payload changed: the signature no longer fits. */
export function tampered(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
  claims.sub = `${String(claims.sub)}-admin`;
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

/** An unsigned token (`alg: none`) with the given claims. */
export function unsigned(claims: JWTPayload): string {
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.`;
}
