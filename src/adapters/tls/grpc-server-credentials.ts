/**
 * grpc-js server credentials that follow rotated certificate files. grpc-js's ServerCredentials
 * lets a subclass publish new secure-context options (updateSecureContextOptions); each
 * listening HTTP/2 server then calls setSecureContext, which applies to new handshakes only,
 * so open connections keep going. Options are checked before they are published: grpc-js
 * treats a context it cannot build as "no credentials" and would refuse every new connection.
 *
 * (grpc-js's own FileWatcherCertificateProvider publishes "no credentials" when a file cannot
 * be read, and has no TLS version bounds; hence this class.)
 */
import { ServerCredentials } from '@grpc/grpc-js';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from '../../application/ports/logger.js';
import type { TlsMaterial } from './tls-files.js';
import type { ServerTlsSettings } from './tls-settings.js';
import { WatchedTlsFiles } from './watched-tls-files.js';

/** The secure-context options of a listener: certificate, trusted CAs, version bounds. */
export function serverContextOptions(material: TlsMaterial, settings: ServerTlsSettings): SecureContextOptions {
  return {
    cert: material.cert,
    key: material.key,
    ...(material.ca ? { ca: material.ca } : {}),
    minVersion: settings.minVersion,
    ...(settings.maxVersion ? { maxVersion: settings.maxVersion } : {}),
  };
}

export class ReloadingServerCredentials extends ServerCredentials {
  private readonly files: WatchedTlsFiles;

  /** Throws TlsFileError when a file is missing or bad. */
  constructor(settings: ServerTlsSettings, log: Logger) {
    const files = new WatchedTlsFiles({ certFile: settings.certFile, keyFile: settings.keyFile, trustedCaFile: settings.trustedCaFile }, log);
    const initial = serverContextOptions(files.material, settings);
    // A client certificate is asked for only when it is required: without --tls-client-auth
    // nothing is decided by one (no authorization here), so none is requested.
    super({ requestCert: settings.clientAuth, rejectUnauthorized: settings.clientAuth, ...initial }, initial);
    this.files = files;
    files.onChange((material) => {
      const next = serverContextOptions(material, settings);
      createSecureContext(next); // throws (logged by WatchedTlsFiles) rather than publish what would break the listener
      this.updateSecureContextOptions(next);
    });
  }

  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }

  /** Stops following the files. */
  close(): void {
    this.files.close();
  }
}
