/**
 * Authentication of the public port, with Oxia's flags: `--auth-provider-name oidc` and
 * `--auth-provider-params '<json>'` (both of Oxia's JSON formats, adapters/auth-oidc/oidc-params.ts).
 * On `server` as in Oxia, on `standalone` as our extension. In a config file the params may
 * also be written as a YAML mapping instead of JSON text. Without a provider every caller is
 * let in (Oxia's default). The internal port is not covered: mutual TLS protects it.
 */
import { z } from 'zod';
import { OidcParamsError, parseOidcParams, type OidcSettings } from '../../adapters/auth-oidc/oidc-params.js';
import type { OptionSpec } from './option-table.js';
import { nonEmptyText } from './values.js';

export const AUTH_PROVIDERS = ['oidc'] as const;

export const AUTH_OPTIONS = [
  { name: 'auth-provider-name', valueName: 'name', help: `authentication of the public port: ${AUTH_PROVIDERS.join(' | ')} (default: none, every caller is let in)`, default: undefined },
  {
    name: 'auth-provider-params',
    valueName: 'json',
    help:
      'the provider\'s params; oidc: {"issuers":{"<issuer url>":{"allowedAudiences":"a,b","userNameClaim":"sub","staticKeyFile":"/key.pem"}}} ' +
      'or Oxia\'s legacy {"allowedIssueURLs":"<url>,<url>","allowedAudiences":"a,b","userNameClaim":"sub"}',
    default: undefined,
  },
] as const satisfies readonly OptionSpec[];

/** JSON text, or (from a YAML config file) a mapping, which is taken as its JSON. */
const params: z.ZodType<string, unknown> = z.unknown().transform((value, ctx) => {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return JSON.stringify(value);
  if (typeof value === 'string' && value.trim() !== '') return value;
  ctx.addIssue({ code: 'custom', message: `must be a JSON object (text), got ${JSON.stringify(value)}` });
  return z.NEVER;
});

export const AUTH_SHAPE = {
  'auth-provider-name': nonEmptyText.optional(),
  'auth-provider-params': params.optional(),
} satisfies Record<(typeof AUTH_OPTIONS)[number]['name'], z.ZodType<unknown, unknown>>;

export interface AuthenticationSettings {
  readonly provider: 'oidc';
  readonly oidc: OidcSettings;
}

/** The provider's settings (undefined: none); what is wrong is added to `problems`, by flag. */
export function authenticationSettingsOf(o: z.output<z.ZodObject<typeof AUTH_SHAPE>>, problems: string[]): AuthenticationSettings | undefined {
  const name = o['auth-provider-name'];
  const text = o['auth-provider-params'];
  if (name === undefined) {
    if (text !== undefined) problems.push('--auth-provider-params: needs --auth-provider-name');
    return undefined;
  }
  if (!(AUTH_PROVIDERS as readonly string[]).includes(name)) {
    problems.push(`--auth-provider-name: unknown provider ${JSON.stringify(name)}; supported: ${AUTH_PROVIDERS.join(', ')}`);
    return undefined;
  }
  if (text === undefined) {
    problems.push(`--auth-provider-params: required with --auth-provider-name ${name}`);
    return undefined;
  }
  try {
    return { provider: 'oidc', oidc: parseOidcParams(text) };
  } catch (e) {
    if (!(e instanceof OidcParamsError)) throw e;
    for (const problem of e.problems) problems.push(`--auth-provider-params: ${problem}`);
    return undefined;
  }
}
