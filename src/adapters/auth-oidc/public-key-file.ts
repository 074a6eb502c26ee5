/**
 * An issuer's `staticKeyFile`: the public keys its tokens are signed with, read once at
 * start. As Oxia reads it: PEM blocks of type PUBLIC KEY, RSA PUBLIC KEY (PKCS#1), EC PUBLIC
 * KEY or CERTIFICATE (its key), other blocks skipped, at least one key. Ours too: a JWK or a
 * JWK set in JSON (its `kid`s are then matched against the token's). A private key is refused
 * rather than turned into its public half: the server has no business holding it.
 */
import { createPublicKey, X509Certificate, type JsonWebKey as NodeJwk, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { JWK } from 'jose';

/** The key file cannot be used; the message names it (and never holds key material). */
export class PublicKeyFileError extends Error {
  override readonly name = 'PublicKeyFileError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The file's public keys as JWKs (no `kid` unless the file gave one). */
export function readPublicKeyFile(file: string): JWK[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new PublicKeyFileError(file, `cannot read the static key file ${file}: ${reason(e)}`);
  }
  const keys = text.trimStart().startsWith('{') ? jwksOf(file, text) : pemKeysOf(file, text);
  if (keys.length === 0) throw new PublicKeyFileError(file, `the static key file ${file} holds no public key (PEM PUBLIC KEY, RSA PUBLIC KEY, EC PUBLIC KEY, CERTIFICATE, or a JWK set)`);
  return keys;
}

function pemKeysOf(file: string, text: string): JWK[] {
  const keys: JWK[] = [];
  for (const [block, type] of text.matchAll(PEM_BLOCK)) {
    const what = `the ${type} block of the static key file ${file}`;
    if (type!.includes('PRIVATE KEY')) throw new PublicKeyFileError(file, `the static key file ${file} holds a private key: give the issuer's public key instead`);
    let key: KeyObject | undefined;
    try {
      if (type === 'PUBLIC KEY' || type === 'EC PUBLIC KEY') key = createPublicKey({ key: block.replace(/EC PUBLIC KEY/g, 'PUBLIC KEY'), format: 'pem', type: 'spki' });
      else if (type === 'RSA PUBLIC KEY') key = createPublicKey({ key: block, format: 'pem', type: 'pkcs1' });
      else if (type === 'CERTIFICATE') key = new X509Certificate(block).publicKey;
    } catch (e) {
      throw new PublicKeyFileError(file, `${what} is unreadable: ${reason(e)}`);
    }
    if (key !== undefined) keys.push(jwkOf(key));
  }
  return keys;
}

function jwksOf(file: string, text: string): JWK[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new PublicKeyFileError(file, `the static key file ${file} is neither PEM nor valid JSON: ${reason(e)}`);
  }
  const members = typeof json === 'object' && json !== null && Array.isArray((json as { keys?: unknown }).keys) ? ((json as { keys: unknown[] }).keys) : [json];
  return members.map((member, i) => {
    const what = `key ${i} of the static key file ${file}`;
    if (typeof member !== 'object' || member === null) throw new PublicKeyFileError(file, `${what} is not a JWK object`);
    const jwk = member as JWK;
    if (jwk.d !== undefined || jwk.k !== undefined) throw new PublicKeyFileError(file, `${what} is a private or secret key: give the issuer's public key instead`);
    try {
      createPublicKey({ key: jwk as NodeJwk, format: 'jwk' });
    } catch (e) {
      throw new PublicKeyFileError(file, `${what} is not a usable public key: ${reason(e)}`);
    }
    return jwk;
  });
}

function jwkOf(key: KeyObject): JWK {
  return key.export({ format: 'jwk' }) as JWK;
}
