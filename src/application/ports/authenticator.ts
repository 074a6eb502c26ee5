import type { ServiceIdentifier } from 'inversify';
import type { Principal } from '../../domain/security/principal.js';

/** What a call presents: the `authorization` metadata value, and the peer's certificate subject. */
export interface CallCredentials {
  /** The raw `authorization` metadata value ("Bearer <jwt>"), when the call sent one. */
  readonly authorization: string | undefined;
  /** Subject attributes of the verified client certificate on a mutual-TLS connection. */
  readonly certificateSubject: Readonly<Record<string, string>> | undefined;
}

/**
 * Turns a call's credentials into a principal, or refuses the call with an
 * OxiaError of kind Unauthenticated whose message names the reason (missing token,
 * expired, wrong issuer or audience, bad signature), never key material. Called on
 * every call and stream, so implementations must not do network I/O per call
 * (keys are cached; a verified token may be cached until it expires).
 */
export interface Authenticator {
  /** True when calls must present a token; false when any caller is let in. */
  readonly requiresToken: boolean;
  authenticate(credentials: CallCredentials): Promise<Principal>;
}
export const Authenticator: ServiceIdentifier<Authenticator> = Symbol.for('oxia.Authenticator');
