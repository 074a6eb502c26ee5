// Real X.509 certificates made at test time with the openssl binary (node:crypto cannot sign
// certificates; .ci/run installs openssl when it is missing): a CA, and certificates it issues
// for 127.0.0.1/localhost usable by servers and clients alike. EC P-256 keys: quick to make on
// a loaded machine. Files go into a directory the caller owns (and removes).
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CertFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestCa extends CertFiles {
  readonly name: string;
  /** A certificate signed by this CA, for 127.0.0.1 and localhost (and `altNames`), server and client use. */
  issue(name: string, altNames?: readonly string[]): CertFiles;
}

function openssl(args: readonly string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

const KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export function makeCa(dir: string, name: string): TestCa {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  openssl([
    'req', '-x509', ...KEY, '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let serial = 0;
  return {
    name,
    certFile,
    keyFile,
    issue(leaf: string, altNames: readonly string[] = []): CertFiles {
      const leafCert = join(dir, `${leaf}.crt`);
      const leafKey = join(dir, `${leaf}.key`);
      const csr = join(dir, `${leaf}.csr`);
      const ext = join(dir, `${leaf}.ext`);
      const sans = ['IP:127.0.0.1', 'DNS:localhost', ...altNames.map((n) => `DNS:${n}`)].join(',');
      writeFileSync(ext, `subjectAltName=${sans}\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`);
      openssl(['req', ...KEY, '-keyout', leafKey, '-out', csr, '-subj', `/CN=${leaf}`]);
      serial += 1;
      openssl(['x509', '-req', '-in', csr, '-CA', certFile, '-CAkey', keyFile, '-set_serial', String(Date.now() * 100 + serial), '-days', '2', '-out', leafCert, '-extfile', ext]);
      return { certFile: leafCert, keyFile: leafKey };
    },
  };
}
