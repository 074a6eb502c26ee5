/**
 * OIDC discovery of an issuer's keys, as Oxia (go-oidc) does it at start:
 * `<issuer>/.well-known/openid-configuration`, whose `issuer` must be the configured one
 * exactly, gives `jwks_uri`, and the signing algorithms the issuer uses when it lists them.
 */
import type { GetJson } from './http-json.js';

export interface IssuerMetadata {
  readonly jwksUri: URL;
  /** `id_token_signing_alg_values_supported`, when the document gives it. */
  readonly signingAlgorithms: readonly string[] | undefined;
}

export function discoveryUrl(issuer: string): URL {
  return new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
}

/** Throws an Error whose message names the issuer and what is wrong. */
export async function discoverIssuer(issuer: string, getJson: GetJson): Promise<IssuerMetadata> {
  const doc = await getJson(discoveryUrl(issuer));
  if (typeof doc !== 'object' || doc === null) throw new Error(`the discovery document of issuer ${issuer} is not a JSON object`);
  const { issuer: claimed, jwks_uri: jwksUri, id_token_signing_alg_values_supported: algorithms } = doc as Record<string, unknown>;
  if (claimed !== issuer) throw new Error(`the discovery document of issuer ${issuer} names another issuer: ${JSON.stringify(claimed)}`);
  if (typeof jwksUri !== 'string') throw new Error(`the discovery document of issuer ${issuer} has no jwks_uri`);
  let url: URL;
  try {
    url = new URL(jwksUri);
  } catch {
    throw new Error(`the discovery document of issuer ${issuer} has an invalid jwks_uri: ${JSON.stringify(jwksUri)}`);
  }
  const listed = Array.isArray(algorithms) && algorithms.every((a) => typeof a === 'string') ? (algorithms as string[]) : undefined;
  return { jwksUri: url, signingAlgorithms: listed };
}
