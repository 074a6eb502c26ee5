/**
 * Builds the OIDC Authenticator at start, as Oxia does: each issuer's static key file is read,
 * or its discovery document and key set fetched; a file that cannot be used
 * (PublicKeyFileError) or an issuer that cannot be reached stops the start with a message
 * naming it, rather than a server that refuses every call later.
 */
import type { Logger } from '../../application/ports/logger.js';
import { httpGetJson, type GetJson } from './http-json.js';
import { discoverIssuer } from './issuer-discovery.js';
import { DEFAULT_REMOTE_KEY_SOURCE_OPTIONS, RemoteKeySource, staticKeySource, type RemoteKeySourceOptions } from './key-sources.js';
import { OidcAuthenticator } from './oidc-authenticator.js';
import type { OidcIssuerSettings, OidcSettings } from './oidc-params.js';
import { readPublicKeyFile } from './public-key-file.js';
import { SIGNING_ALGORITHMS, TokenVerifier, type TrustedIssuer } from './token-verifier.js';
import { DEFAULT_VERIFIED_TOKEN_CACHE_OPTIONS, VerifiedTokenCache, type VerifiedTokenCacheOptions } from './verified-token-cache.js';

export interface OidcAuthenticatorDeps {
  readonly getJson?: GetJson;
  readonly remoteKeys?: RemoteKeySourceOptions;
  readonly cache?: VerifiedTokenCacheOptions;
  readonly now?: () => number;
}

export async function createOidcAuthenticator(settings: OidcSettings, log: Logger, deps: OidcAuthenticatorDeps = {}): Promise<OidcAuthenticator> {
  const authLog = log.child({ component: 'auth-oidc' });
  const issuers = await Promise.all(settings.issuers.map((issuer) => trustedIssuer(issuer, authLog, deps)));
  for (const { settings: s } of issuers) {
    authLog.info('trusting token issuer', { issuer: s.issuer, audiences: s.audiences, userNameClaim: s.userNameClaim, keys: s.staticKeyFile ?? 'discovery' });
  }
  const now = deps.now ?? (() => Date.now());
  return new OidcAuthenticator(new TokenVerifier(issuers, now), new VerifiedTokenCache(deps.cache ?? DEFAULT_VERIFIED_TOKEN_CACHE_OPTIONS), authLog, now);
}

async function trustedIssuer(settings: OidcIssuerSettings, log: Logger, deps: OidcAuthenticatorDeps): Promise<TrustedIssuer> {
  if (settings.staticKeyFile !== undefined) {
    return { settings, keys: staticKeySource(readPublicKeyFile(settings.staticKeyFile)), algorithms: SIGNING_ALGORITHMS };
  }
  const getJson = deps.getJson ?? httpGetJson();
  let metadata;
  try {
    metadata = await discoverIssuer(settings.issuer, getJson);
  } catch (e) {
    throw new Error(`OIDC discovery of issuer ${settings.issuer} failed: ${(e as Error).message}`);
  }
  const listed = metadata.signingAlgorithms;
  const algorithms = listed === undefined ? [...SIGNING_ALGORITHMS] : SIGNING_ALGORITHMS.filter((a) => listed.includes(a));
  if (algorithms.length === 0) throw new Error(`issuer ${settings.issuer} signs with ${listed!.join(', ')}: none of them is accepted (${SIGNING_ALGORITHMS.join(', ')})`);
  const keys = new RemoteKeySource(metadata.jwksUri, getJson, log.child({ issuer: settings.issuer }), deps.remoteKeys ?? DEFAULT_REMOTE_KEY_SOURCE_OPTIONS);
  try {
    await keys.load();
  } catch (e) {
    throw new Error(`cannot fetch the key set of issuer ${settings.issuer}: ${(e as Error).message}`);
  }
  return { settings, keys, algorithms };
}
