/**
 * Verifies a bearer JWT as Oxia's OIDC provider does: the (unverified) `iss` picks the trusted
 * issuer, then the signature with that issuer's keys and an asymmetric algorithm (never
 * `none`, never a shared secret), the issuer exactly, `exp` (required) and `nbf` within a
 * small clock skew, an audience among the allowed ones (any of the token's will do), and the
 * user name claim as text. A refusal is an OxiaError of kind Unauthenticated whose message
 * names the reason; it never holds key material or the token.
 */
import { decodeJwt, errors, jwtVerify, type CryptoKey, type JWTPayload, type JWTVerifyResult } from 'jose';
import { OxiaError } from '../../domain/errors/oxia-error.js';
import type { KeySource } from './key-sources.js';
import type { OidcIssuerSettings } from './oidc-params.js';

/** The asymmetric JWS algorithms accepted (an issuer's discovery document may narrow them). */
export const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519'] as const;

/** Tolerated difference between the issuer's clock and ours, for `exp` and `nbf`. */
export const CLOCK_SKEW_S = 60;

export interface TrustedIssuer {
  readonly settings: OidcIssuerSettings;
  readonly keys: KeySource;
  readonly algorithms: readonly string[];
}

export interface VerifiedToken {
  readonly issuer: string;
  readonly user: string;
  readonly claims: Readonly<JWTPayload>;
  /** `exp`, in milliseconds since the epoch. */
  readonly expiresAtMs: number;
}

const refused = (reason: string): OxiaError => new OxiaError('Unauthenticated', reason);
/** Claims come from the caller: shown, but bounded. */
const shown = (value: unknown): string => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
};

export class TokenVerifier {
  private readonly issuers: ReadonlyMap<string, TrustedIssuer>;

  constructor(
    issuers: readonly TrustedIssuer[],
    private readonly now: () => number = () => Date.now(),
  ) {
    this.issuers = new Map(issuers.map((i) => [i.settings.issuer, i]));
  }

  /** The verified token, or an Unauthenticated OxiaError naming the reason. */
  async verify(token: string): Promise<VerifiedToken> {
    if (token.split('.').length !== 3) throw refused('malformed token: not a JWT (three dot-separated parts)');
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch (e) {
      throw refused(`malformed token: ${(e as Error).message}`);
    }
    const issuer = typeof unverified.iss === 'string' ? this.issuers.get(unverified.iss) : undefined;
    if (issuer === undefined) throw refused(unverified.iss === undefined ? 'token has no issuer (iss)' : `token issuer ${shown(unverified.iss)} is not trusted`);

    const { settings } = issuer;
    let result: JWTVerifyResult;
    try {
      result = await this.verifyWith(token, issuer);
    } catch (e) {
      throw refusalOf(e, settings);
    }
    const claims = result.payload;
    const user = claims[settings.userNameClaim];
    if (typeof user !== 'string' || user === '') throw refused(`token has no user name: claim ${shown(settings.userNameClaim)} is missing or not a text`);
    return { issuer: settings.issuer, user, claims, expiresAtMs: (claims.exp ?? 0) * 1000 };
  }

  private async verifyWith(token: string, issuer: TrustedIssuer): Promise<JWTVerifyResult> {
    const options = {
      issuer: issuer.settings.issuer,
      audience: [...issuer.settings.audiences],
      algorithms: [...issuer.algorithms],
      clockTolerance: CLOCK_SKEW_S,
      requiredClaims: ['exp'],
      currentDate: new Date(this.now()),
    };
    try {
      return await jwtVerify(token, issuer.keys.resolve, options);
    } catch (e) {
      if (!(e instanceof errors.JWKSMultipleMatchingKeys)) throw e;
      // Several keys fit (no key ids): the one that verifies the signature is the signer's.
      for await (const key of e as unknown as AsyncIterable<CryptoKey>) {
        try {
          return await jwtVerify(token, key, options);
        } catch (inner) {
          if (!(inner instanceof errors.JWSSignatureVerificationFailed)) throw inner;
        }
      }
      throw new errors.JWSSignatureVerificationFailed();
    }
  }
}

function refusalOf(e: unknown, settings: OidcIssuerSettings): OxiaError {
  if (e instanceof OxiaError) return e;
  if (e instanceof errors.JWTExpired) return refused(`token expired at ${isoOf(e.payload.exp)}`);
  if (e instanceof errors.JWTClaimValidationFailed) {
    if (e.claim === 'nbf') return refused(`token not valid before ${isoOf(e.payload.nbf)}`);
    if (e.claim === 'aud') return refused(`token audience ${shown(e.payload.aud)} is not allowed for issuer ${settings.issuer}`);
    if (e.reason === 'missing') return refused(`token has no ${e.claim} claim`);
    return refused(`token claim ${e.claim}: ${e.message}`);
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) return refused('bad token signature');
  if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported) return refused(`token signing algorithm not accepted: ${e.message}`);
  if (e instanceof errors.JWKSNoMatchingKey) return refused(`no key of issuer ${settings.issuer} matches the token's key id and algorithm`);
  if (e instanceof errors.JWSInvalid || e instanceof errors.JWTInvalid) return refused(`malformed token: ${e.message}`);
  return refused(`token could not be verified: ${e instanceof Error ? e.message : String(e)}`);
}

function isoOf(seconds: unknown): string {
  return typeof seconds === 'number' && Number.isFinite(seconds) ? new Date(seconds * 1000).toISOString() : shown(seconds);
}
