/**
 * The Authenticator of `--auth-provider-name oidc`: every call on the public port must carry
 * `authorization: Bearer <JWT>` from a trusted issuer. The token is taken as Oxia takes it
 * (the "Bearer " prefix is dropped when present), verified (token-verifier.ts) or found among
 * the recently verified ones, and its user name claim names the principal; a verified client
 * certificate on the same connection is kept beside it.
 */
import type { Authenticator, CallCredentials } from '../../application/ports/authenticator.js';
import type { Logger } from '../../application/ports/logger.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import { principalOf, type Principal } from '../../domain/security/principal.js';
import type { TokenVerifier } from './token-verifier.js';
import { VerifiedTokenCache } from './verified-token-cache.js';

const BEARER = /^bearer\s+/i;

export class OidcAuthenticator implements Authenticator {
  readonly requiresToken = true;

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly cache: VerifiedTokenCache,
    private readonly log: Logger,
    private readonly now: () => number = () => Date.now(),
  ) {}

  async authenticate(credentials: CallCredentials): Promise<Principal> {
    const token = (credentials.authorization ?? '').replace(BEARER, '').trim();
    if (token === '') throw new OxiaError('Unauthenticated', "missing token: the call carries no 'authorization: Bearer <token>' metadata");
    const key = VerifiedTokenCache.keyOf(token);
    let verified = this.cache.get(key, this.now());
    if (verified === undefined) {
      verified = await this.verifier.verify(token);
      this.cache.set(key, verified, this.now());
      // Once per token, not per call: who got in, until when.
      this.log.debug('token verified', { principal: verified.user, issuer: verified.issuer, expiresAt: new Date(verified.expiresAtMs).toISOString() });
    }
    return principalOf({ user: verified.user, claims: verified.claims, certificateSubject: credentials.certificateSubject });
  }
}
