/**
 * `--auth-provider-params` of the OIDC provider, in Oxia's two JSON formats:
 *
 *   legacy:  {"allowedIssueURLs":"https://a,https://b","allowedAudiences":"x,y","userNameClaim":"sub"}
 *   issuers: {"issuers":{"https://a":{"allowedAudiences":"x,y","userNameClaim":"email","staticKeyFile":"/k.pem"}}}
 *
 * As in Oxia: lists are comma-separated and trimmed; the audiences are required (for every
 * issuer); the user name claim defaults to "sub"; a legacy issuer, and an issuer without a
 * static key file, gets its keys through OIDC discovery. Stricter than Oxia, so that a typo
 * is not silently ignored: unknown fields, and both formats at once, are errors.
 */

export const DEFAULT_USER_NAME_CLAIM = 'sub';

/** One trusted issuer: whose tokens are accepted, for which audiences, named by which claim. */
export interface OidcIssuerSettings {
  /** Compared with the token's `iss` exactly; the discovery base URL when there is no static key file. */
  readonly issuer: string;
  /** A token is accepted when any of its audiences is one of these. */
  readonly audiences: readonly string[];
  /** The claim whose (text) value names the principal. */
  readonly userNameClaim: string;
  /** Public keys (PEM, or a JWK / JWK set in JSON) instead of the issuer's JWKS; undefined: discovery. */
  readonly staticKeyFile: string | undefined;
}

export interface OidcSettings {
  readonly issuers: readonly OidcIssuerSettings[];
}

/** The params cannot be used; each problem says which field and why. */
export class OidcParamsError extends Error {
  override readonly name = 'OidcParamsError';
  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

const LEGACY_FIELDS = ['allowedIssueURLs', 'allowedAudiences', 'userNameClaim'] as const;
const ISSUER_FIELDS = ['allowedAudiences', 'userNameClaim', 'staticKeyFile'] as const;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** "a, b,,c" -> ["a","b","c"]; a JSON array of texts is taken too. */
function list(value: unknown, field: string, problems: string[]): string[] {
  const items = typeof value === 'string' ? value.split(',') : Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
  if (items === undefined) {
    problems.push(`${field} must be a comma-separated text`);
    return [];
  }
  const trimmed = [...new Set(items.map((s) => s.trim()).filter((s) => s !== ''))];
  if (trimmed.length === 0) problems.push(`${field} is required and must not be empty`);
  return trimmed;
}

function optionalText(value: unknown, field: string, problems: string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.trim() === '') {
    problems.push(`${field} must be a non-empty text`);
    return undefined;
  }
  return value.trim();
}

function unknownFields(object: Json, known: readonly string[], where: string, problems: string[]): void {
  const unknown = Object.keys(object).filter((k) => !known.includes(k));
  if (unknown.length > 0) problems.push(`unknown field(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')} ${where} (known: ${known.join(', ')})`);
}

/** An issuer whose keys come from discovery: its URL must be one to fetch from. */
function checkDiscoveryUrl(issuer: string, where: string, problems: string[]): void {
  let url: URL;
  try {
    url = new URL(issuer);
  } catch {
    problems.push(`${where}: ${JSON.stringify(issuer)} is not a URL (its keys are found through OIDC discovery)`);
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') problems.push(`${where}: ${JSON.stringify(issuer)} must be an https (or http) URL`);
}

/** Parses the JSON text; throws OidcParamsError listing every problem. */
export function parseOidcParams(text: string): OidcSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new OidcParamsError([`not valid JSON: ${(e as Error).message}`]);
  }
  if (!isObject(raw)) throw new OidcParamsError(['must be a JSON object']);
  const problems: string[] = [];
  const issuers = raw.issuers === undefined ? legacyIssuers(raw, problems) : perIssuer(raw, problems);
  if (problems.length > 0) throw new OidcParamsError(problems);
  return { issuers };
}

function legacyIssuers(raw: Json, problems: string[]): OidcIssuerSettings[] {
  unknownFields(raw, ['issuers', ...LEGACY_FIELDS], 'in the params', problems);
  if (raw.allowedIssueURLs === undefined) {
    problems.push('either "issuers" or "allowedIssueURLs" (the legacy format) is required');
    return [];
  }
  const urls = list(raw.allowedIssueURLs, 'allowedIssueURLs', problems);
  const audiences = list(raw.allowedAudiences ?? '', 'allowedAudiences', problems);
  const userNameClaim = optionalText(raw.userNameClaim, 'userNameClaim', problems) ?? DEFAULT_USER_NAME_CLAIM;
  for (const url of urls) checkDiscoveryUrl(url, 'allowedIssueURLs', problems);
  return urls.map((issuer) => ({ issuer, audiences, userNameClaim, staticKeyFile: undefined }));
}

function perIssuer(raw: Json, problems: string[]): OidcIssuerSettings[] {
  const legacy = LEGACY_FIELDS.filter((f) => raw[f] !== undefined);
  if (legacy.length > 0) problems.push(`"issuers" and the legacy field(s) ${legacy.join(', ')} exclude each other: put them under each issuer`);
  unknownFields(raw, ['issuers', ...LEGACY_FIELDS], 'in the params', problems);
  if (!isObject(raw.issuers) || Object.keys(raw.issuers).length === 0) {
    problems.push('"issuers" must map at least one issuer URL to its settings');
    return [];
  }
  const result: OidcIssuerSettings[] = [];
  for (const [key, value] of Object.entries(raw.issuers)) {
    const issuer = key.trim();
    const where = `issuers[${JSON.stringify(key)}]`;
    if (issuer === '') {
      problems.push('issuers: an issuer URL must not be empty');
      continue;
    }
    if (!isObject(value)) {
      problems.push(`${where} must be an object with allowedAudiences`);
      continue;
    }
    unknownFields(value, ISSUER_FIELDS, `in ${where}`, problems);
    const audiences = list(value.allowedAudiences ?? '', `${where}.allowedAudiences`, problems);
    const userNameClaim = optionalText(value.userNameClaim, `${where}.userNameClaim`, problems) ?? DEFAULT_USER_NAME_CLAIM;
    const staticKeyFile = optionalText(value.staticKeyFile, `${where}.staticKeyFile`, problems);
    // With a static key the issuer is only compared with `iss`: any text will do.
    if (staticKeyFile === undefined) checkDiscoveryUrl(issuer, where, problems);
    result.push({ issuer, audiences, userNameClaim, staticKeyFile });
  }
  return result;
}
