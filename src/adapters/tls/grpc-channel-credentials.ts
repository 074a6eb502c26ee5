/**
 * grpc-js channel credentials for calls to servers over TLS.
 *
 * - fromFiles (servers and the coordinator calling servers): the files are followed, and each
 *   new connection is made with the certificate in service then, through grpc-js's
 *   certificate-provider credentials; open connections keep going.
 * - fromPem (the client library, given PEM contents): fixed credentials.
 *
 * Either way a server name replaces the dialled host in the certificate check and in SNI
 * (grpc-js's ssl_target_name_override), and insecureSkipVerify accepts any certificate.
 */
import { credentials, experimental, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import type { ServiceIdentifier } from 'inversify';
import { rootCertificates } from 'node:tls';
import type { Logger } from '../../application/ports/logger.js';
import type { TlsMaterial } from './tls-files.js';
import type { ClientTlsSettings } from './tls-settings.js';
import { WatchedTlsFiles } from './watched-tls-files.js';

/** What a channel to a TLS server is made with. */
export interface ChannelSecurity {
  readonly credentials: ChannelCredentials;
  /** To merge into the channel's options. */
  readonly channelOptions: ChannelOptions;
  /** Stops following files (channels made with it should be closed first). */
  close(): void;
}

/** How a role's own calls to servers are secured (`--peer-tls-*`). */
export const PeerChannelSecurity: ServiceIdentifier<ChannelSecurity> = Symbol.for('oxia.PeerChannelSecurity');

export const PLAINTEXT: ChannelSecurity = { credentials: credentials.createInsecure(), channelOptions: {}, close: () => undefined };

const SYSTEM_ROOTS = Buffer.from(rootCertificates.join('\n'));

interface VerifySettings {
  readonly serverName?: string | undefined;
  readonly insecureSkipVerify?: boolean | undefined;
}

function channelOptionsOf(settings: VerifySettings): ChannelOptions {
  return settings.serverName ? { 'grpc.ssl_target_name_override': settings.serverName } : {};
}

function verifyOptionsOf(settings: VerifySettings): { rejectUnauthorized?: boolean } {
  return settings.insecureSkipVerify ? { rejectUnauthorized: false } : {};
}

/** Fixed credentials from PEM contents (no CA: the system's roots). */
export function channelSecurityFromPem(material: TlsMaterial, settings: VerifySettings): ChannelSecurity {
  return {
    credentials: credentials.createSsl(material.ca ?? null, material.key ?? null, material.cert ?? null, verifyOptionsOf(settings)),
    channelOptions: channelOptionsOf(settings),
    close: () => undefined,
  };
}

/** Hands grpc-js the material in service now, and each reload. */
class WatchedFilesCertificateProvider implements experimental.CertificateProvider {
  private readonly ca = new Set<experimental.CaCertificateUpdateListener>();
  private readonly identity = new Set<experimental.IdentityCertificateUpdateListener>();

  constructor(private readonly files: WatchedTlsFiles) {
    files.onChange(() => {
      for (const listener of this.ca) listener(this.caUpdate());
      for (const listener of this.identity) listener(this.identityUpdate());
    });
  }

  private caUpdate(): experimental.CaCertificateUpdate {
    return { caCertificate: this.files.material.ca ?? SYSTEM_ROOTS };
  }

  private identityUpdate(): experimental.IdentityCertificateUpdate | null {
    const { cert, key } = this.files.material;
    return cert && key ? { certificate: cert, privateKey: key } : null;
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.ca.add(listener);
    process.nextTick(() => listener(this.caUpdate()));
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.ca.delete(listener);
  }

  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identity.add(listener);
    process.nextTick(() => listener(this.identityUpdate()));
  }

  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.identity.delete(listener);
  }
}

/** Credentials that follow the files; throws TlsFileError when a file is missing or bad. */
export function channelSecurityFromFiles(settings: ClientTlsSettings, log: Logger): ChannelSecurity {
  const files = new WatchedTlsFiles({ certFile: settings.certFile, keyFile: settings.keyFile, trustedCaFile: settings.trustedCaFile }, log);
  const provider = new WatchedFilesCertificateProvider(files);
  const withIdentity = settings.certFile !== undefined;
  return {
    credentials: experimental.createCertificateProviderChannelCredentials(provider, withIdentity ? provider : null, verifyOptionsOf(settings)),
    channelOptions: channelOptionsOf(settings),
    close: () => files.close(),
  };
}
