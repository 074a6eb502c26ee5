/**
 * What a call presents to the Authenticator: its `authorization` metadata, and the
 * subject of the client certificate when the connection is mutual TLS (the server
 * asks for a certificate only with --tls-client-auth, and then rejects any that its
 * CA did not sign, so a subject seen here is verified).
 */
import type { Metadata } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { CallCredentials } from '../../application/ports/authenticator.js';
import { invalidArgument } from '../../domain/errors/oxia-error.js';

export const METADATA_AUTHORIZATION = 'authorization';

interface CallWithAuthContext {
  readonly metadata: Metadata;
  getAuthContext?(): { sslPeerCertificate?: PeerCertificate } | null;
}

export function callCredentialsOf(call: CallWithAuthContext): CallCredentials {
  const values = call.metadata.get(METADATA_AUTHORIZATION);
  if (values.length > 1) throw invalidArgument(`the call must carry the '${METADATA_AUTHORIZATION}' metadata field at most once`);
  const value = values[0];
  if (value !== undefined && typeof value !== 'string') throw invalidArgument(`the '${METADATA_AUTHORIZATION}' metadata field must be text`);
  return { authorization: value, certificateSubject: subjectOf(call.getAuthContext?.()?.sslPeerCertificate) };
}

/** Subject attributes; a repeated attribute (two OUs) is kept as its values joined by '+'. */
export function subjectOf(certificate: PeerCertificate | undefined): Record<string, string> | undefined {
  // An empty object is what Node gives when the peer sent no certificate.
  if (!certificate || certificate.subject === undefined || Object.keys(certificate).length === 0) return undefined;
  const subject: Record<string, string> = {};
  for (const [key, value] of Object.entries(certificate.subject as unknown as Record<string, string | string[]>)) {
    subject[key] = Array.isArray(value) ? value.join('+') : value;
  }
  return subject;
}
