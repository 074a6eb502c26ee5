/**
 * What a TLS listener and a TLS caller are told, in Node's terms (the CLI's Oxia-style
 * settings are translated in bootstrap/config/tls-options.ts).
 */
import type { SecureVersion } from 'node:tls';

/** A listener's TLS: its certificate, and which clients it accepts. */
export interface ServerTlsSettings {
  readonly certFile: string;
  readonly keyFile: string;
  /** CAs whose client certificates are accepted (with clientAuth). */
  readonly trustedCaFile?: string | undefined;
  /** Every client must present a certificate issued by a trusted CA. */
  readonly clientAuth: boolean;
  readonly minVersion: SecureVersion;
  readonly maxVersion?: SecureVersion | undefined;
}

/** A caller's TLS: whom it trusts and, for mutual TLS, its own certificate. */
export interface ClientTlsSettings {
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** CAs the server's certificate must come from; without it the system's roots. */
  readonly trustedCaFile?: string | undefined;
  /** The name the server's certificate must carry (and the SNI sent), instead of the host dialled. */
  readonly serverName?: string | undefined;
  /** Accept any server certificate (testing only). */
  readonly insecureSkipVerify: boolean;
}
