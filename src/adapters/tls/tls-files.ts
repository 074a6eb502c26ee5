/**
 * Reading a certificate, its private key and a bundle of trusted CA certificates from PEM
 * files, each checked on its own (and the key against the certificate) so that a bad file
 * is reported by its name before it is put in service, at start as at rotation.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Which files; a certificate comes with its key. */
export interface TlsFilePaths {
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly trustedCaFile?: string | undefined;
}

/** The files' contents, checked. */
export interface TlsMaterial {
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
  readonly ca?: Buffer | undefined;
}

/** A file that cannot serve as what it was given for; `file` names it. */
export class TlsFileError extends Error {
  override readonly name = 'TlsFileError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

const reason = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new TlsFileError(file, `cannot read the ${what} ${file}: ${reason(e)}`);
  }
}

/** Every certificate of a PEM file parsed; at least one (as Oxia asks of a trusted CA file). */
function parseCertificates(file: string, pem: Buffer, what: string): X509Certificate[] {
  const blocks = pem.toString('utf8').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsFileError(file, `the ${what} ${file} holds no PEM certificate`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (e) {
      throw new TlsFileError(file, `the ${what} ${file} holds an unreadable certificate: ${reason(e)}`);
    }
  });
}

/** Reads and checks the files; throws TlsFileError naming the first bad one. */
export function readTlsMaterial(paths: TlsFilePaths): TlsMaterial {
  let cert: Buffer | undefined;
  let key: Buffer | undefined;
  if (paths.certFile !== undefined && paths.keyFile !== undefined) {
    cert = read(paths.certFile, 'certificate file');
    const leaf = parseCertificates(paths.certFile, cert, 'certificate file')[0]!;
    key = read(paths.keyFile, 'key file');
    let privateKey;
    try {
      privateKey = createPrivateKey(key);
    } catch (e) {
      throw new TlsFileError(paths.keyFile, `the key file ${paths.keyFile} holds no usable private key: ${reason(e)}`);
    }
    if (!leaf.checkPrivateKey(privateKey)) {
      throw new TlsFileError(paths.keyFile, `the key in ${paths.keyFile} does not belong to the certificate in ${paths.certFile}`);
    }
  }
  let ca: Buffer | undefined;
  if (paths.trustedCaFile !== undefined) {
    ca = read(paths.trustedCaFile, 'trusted CA file');
    parseCertificates(paths.trustedCaFile, ca, 'trusted CA file');
  }
  return { cert, key, ca };
}

/** Same bytes in every file: nothing to reload. */
export function sameTlsMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  const same = (x: Buffer | undefined, y: Buffer | undefined): boolean => (x === undefined ? y === undefined : y !== undefined && x.equals(y));
  return same(a.cert, b.cert) && same(a.key, b.key) && same(a.ca, b.ca);
}
