import type { Authenticator, CallCredentials } from '../ports/authenticator.js';
import { principalOf } from '../../domain/security/principal.js';
import type { Principal } from '../../domain/security/principal.js';

/**
 * No authentication provider configured: every call is let in, as in Oxia. Tokens
 * are not looked at (clients configured for a secured cluster still work); a
 * client certificate, when mutual TLS verified one, still names the principal, so
 * that an authorization policy can grant by certificate subject alone.
 */
export class OpenAuthenticator implements Authenticator {
  readonly requiresToken = false;
  async authenticate(credentials: CallCredentials): Promise<Principal> {
    return principalOf({ certificateSubject: credentials.certificateSubject });
  }
}
