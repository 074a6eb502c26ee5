/**
 * A certificate authority on this machine, for `oxia-ts cluster --secure`: a CA certificate
 * and the leaf certificates it issues (for 127.0.0.1 and localhost), made with Node's WebCrypto
 * and @peculiar/x509, so that no openssl binary and no network are needed. EC P-256 keys,
 * ECDSA-SHA256 signatures; PEM files (keys PKCS#8, written readable by the owner only).
 */
// tsyringe, under @peculiar/x509, wants the Reflect metadata API in place before it loads.
import 'reflect-metadata';
import { webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as x509 from '@peculiar/x509';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY_MS = 24 * 60 * 60 * 1000;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface PemFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export type LeafUse = 'server' | 'client' | 'both';

export interface LocalCa extends PemFiles {
  /** Issues (and writes) a certificate for 127.0.0.1 and localhost, for `use`. */
  issue(files: PemFiles, commonName: string, use: LeafUse): Promise<void>;
  /** True when `certFile` holds a certificate of this CA valid for at least `marginMs` more. */
  stillIssues(certFile: string, marginMs: number): boolean;
}

function pem(label: string, der: ArrayBuffer): string {
  const body = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

function derOf(pemText: string): Buffer {
  return Buffer.from(pemText.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
}

async function writeKey(file: string, key: CryptoKey): Promise<void> {
  writeFileSync(file, pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key)), { mode: 0o600 });
}

function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

/** Valid for at least `marginMs` more, per its notAfter. */
function validFor(certFile: string, marginMs: number, now: number): boolean {
  if (!existsSync(certFile)) return false;
  try {
    return new Date(new NodeX509Certificate(readFileSync(certFile)).validTo).getTime() - now > marginMs;
  } catch {
    return false;
  }
}

/**
 * The CA in `files`, reused when it is there and valid for `validityDays / 10` more, else made
 * anew (then every certificate it issued before must be issued again: `stillIssues` says so).
 */
export async function openLocalCa(files: PemFiles, name: string, validityDays: number, now = Date.now()): Promise<LocalCa> {
  let caCert: x509.X509Certificate;
  let caKey: CryptoKey;
  if (validFor(files.certFile, (validityDays * DAY_MS) / 10, now) && existsSync(files.keyFile)) {
    caCert = new x509.X509Certificate(readFileSync(files.certFile, 'utf8'));
    caKey = await webcrypto.subtle.importKey('pkcs8', derOf(readFileSync(files.keyFile, 'utf8')), ALGORITHM, false, ['sign']);
  } else {
    const keys = await generateKeys();
    caCert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${name}`,
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + validityDays * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    caKey = keys.privateKey;
    await writeKey(files.keyFile, caKey);
    writeFileSync(files.certFile, caCert.toString('pem') + '\n');
  }
  const caNode = new NodeX509Certificate(readFileSync(files.certFile));

  return {
    ...files,
    async issue(leaf, commonName, use) {
      const keys = await generateKeys();
      const usages = use === 'server' ? [x509.ExtendedKeyUsage.serverAuth] : use === 'client' ? [x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=${commonName}`,
        issuer: caCert.subject,
        notBefore: new Date(now - DAY_MS),
        notAfter: new Date(Math.min(now + validityDays * DAY_MS, caCert.notAfter.getTime())),
        publicKey: keys.publicKey,
        signingKey: caKey,
        signingAlgorithm: ALGORITHM,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension(usages),
          new x509.SubjectAlternativeNameExtension([
            { type: 'ip', value: '127.0.0.1' },
            { type: 'dns', value: 'localhost' },
          ]),
          await x509.AuthorityKeyIdentifierExtension.create(caCert),
        ],
      });
      await writeKey(leaf.keyFile, keys.privateKey);
      writeFileSync(leaf.certFile, cert.toString('pem') + '\n');
    },
    stillIssues(certFile, marginMs) {
      if (!validFor(certFile, marginMs, Date.now())) return false;
      try {
        return new NodeX509Certificate(readFileSync(certFile)).checkIssued(caNode);
      } catch {
        return false;
      }
    },
  };
}

/** A positive random 64-bit serial (hex). */
function serial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(8));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
