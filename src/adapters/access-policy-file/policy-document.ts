/**
 * The authorization policy file (YAML) read into the domain's AccessPolicy, with an error
 * that names the place of each mistake ("grants[1].rights[0]: ..."). Format (ADR 0018):
 *
 *   grants:
 *     - principals: ["user:alice", "claim:groups=ops", "cert:CN=broker-1,O=pulsar", "anonymous", "*"]
 *       namespaces: ["default"]        # "*": every namespace
 *       rights: [read, write]          # read | write | admin (admin implies read and write)
 *       keyPrefix: /tenants/a/         # optional: only keys starting with this
 */
import { parse as parseYaml } from 'yaml';
import { RIGHTS } from '../../domain/security/access-policy.js';
import type { AccessPolicy, Grant, PrincipalMatcher, Right } from '../../domain/security/access-policy.js';

export class PolicyDocumentError extends Error {
  override readonly name = 'PolicyDocumentError';
}

const GRANT_FIELDS = new Set(['principals', 'namespaces', 'rights', 'keyPrefix']);

export function parsePolicyDocument(text: string): AccessPolicy {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new PolicyDocumentError(`not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!isObject(doc)) throw new PolicyDocumentError('the policy must be a mapping with a "grants" list');
  for (const key of Object.keys(doc)) if (key !== 'grants') throw new PolicyDocumentError(`unknown field "${key}" (the policy has only "grants")`);
  const grants = doc['grants'] ?? [];
  if (!Array.isArray(grants)) throw new PolicyDocumentError('"grants" must be a list');
  return { grants: grants.map((g, i) => parseGrant(g, `grants[${i}]`)) };
}

function parseGrant(raw: unknown, at: string): Grant {
  if (!isObject(raw)) throw new PolicyDocumentError(`${at}: a grant must be a mapping with principals, namespaces and rights`);
  for (const key of Object.keys(raw)) {
    if (!GRANT_FIELDS.has(key)) throw new PolicyDocumentError(`${at}: unknown field "${key}" (one of ${[...GRANT_FIELDS].join(', ')})`);
  }
  const principals = nonEmptyStrings(raw['principals'], `${at}.principals`).map((p, i) => parsePrincipal(p, `${at}.principals[${i}]`));
  const namespaces = nonEmptyStrings(raw['namespaces'], `${at}.namespaces`);
  const rights = nonEmptyStrings(raw['rights'], `${at}.rights`).map((r, i) => parseRight(r, `${at}.rights[${i}]`));
  const prefix = raw['keyPrefix'];
  if (prefix !== undefined && prefix !== null && typeof prefix !== 'string') throw new PolicyDocumentError(`${at}.keyPrefix: must be text`);
  return { principals, namespaces, rights, keyPrefix: typeof prefix === 'string' && prefix !== '' ? prefix : undefined };
}

function parsePrincipal(text: string, at: string): PrincipalMatcher {
  if (text === '*') return { kind: 'anyone' };
  if (text === 'anonymous') return { kind: 'anonymous' };
  const colon = text.indexOf(':');
  const kind = colon < 0 ? '' : text.slice(0, colon);
  const rest = colon < 0 ? '' : text.slice(colon + 1);
  switch (kind) {
    case 'user':
      if (rest === '') break;
      return { kind: 'user', name: rest };
    case 'claim': {
      const eq = rest.indexOf('=');
      if (eq <= 0) throw new PolicyDocumentError(`${at}: "${text}" must be claim:<name>=<value>`);
      return { kind: 'claim', claim: rest.slice(0, eq), value: rest.slice(eq + 1) };
    }
    case 'cert': {
      const attributes: Record<string, string> = {};
      for (const part of rest.split(',')) {
        const eq = part.indexOf('=');
        if (eq <= 0) throw new PolicyDocumentError(`${at}: "${text}" must be cert:<attr>=<value>[,<attr>=<value>...], e.g. cert:CN=broker-1`);
        attributes[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
      }
      return { kind: 'certificate', attributes };
    }
  }
  throw new PolicyDocumentError(`${at}: "${text}" is not a principal (one of "*", "anonymous", "user:<name>", "claim:<name>=<value>", "cert:<attr>=<value>")`);
}

function parseRight(text: string, at: string): Right {
  if ((RIGHTS as readonly string[]).includes(text)) return text as Right;
  throw new PolicyDocumentError(`${at}: unknown right "${text}" (one of ${RIGHTS.join(', ')})`);
}

function nonEmptyStrings(raw: unknown, at: string): string[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new PolicyDocumentError(`${at}: must be a non-empty list`);
  return raw.map((v, i) => {
    if (typeof v !== 'string' || v === '') throw new PolicyDocumentError(`${at}[${i}]: must be non-empty text`);
    return v;
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
