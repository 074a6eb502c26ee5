import type { Principal } from './principal.js';

/**
 * Authorization as data: a policy is a list of grants, each giving some principals
 * some rights on some namespaces, optionally only on keys under a prefix. With a
 * policy in force, what no grant allows is denied. Without one, every principal the
 * server let in may do everything (Oxia's behaviour). See ADR 0018.
 *
 * Rights do not nest except through `admin`: `write` does not imply `read` (a
 * producer that must not read is a real case), `admin` implies both.
 */
export type Right = 'read' | 'write' | 'admin';
export const RIGHTS: readonly Right[] = ['read', 'write', 'admin'];

/** Who a grant is for. */
export type PrincipalMatcher =
  | { readonly kind: 'anyone' } // "*": any caller the server let in, anonymous included
  | { readonly kind: 'anonymous' } // callers that presented no token and no certificate
  | { readonly kind: 'user'; readonly name: string } // "user:<name>": the token's user name claim
  | { readonly kind: 'claim'; readonly claim: string; readonly value: string } // "claim:<name>=<value>"
  | { readonly kind: 'certificate'; readonly attributes: Readonly<Record<string, string>> }; // "cert:CN=a,O=b"

export interface Grant {
  readonly principals: readonly PrincipalMatcher[];
  /** Namespace names; "*" is every namespace. */
  readonly namespaces: readonly string[];
  readonly rights: readonly Right[];
  /** Only keys starting with this; undefined is every key. */
  readonly keyPrefix: string | undefined;
}

export interface AccessPolicy {
  readonly grants: readonly Grant[];
}

/**
 * What a principal may touch in one namespace with one right: nothing, every key, or
 * the keys under any of some prefixes.
 */
export type KeyScope = { readonly kind: 'none' } | { readonly kind: 'all' } | { readonly kind: 'prefixes'; readonly prefixes: readonly string[] };

export const ALL_KEYS: KeyScope = { kind: 'all' };
export const NO_KEYS: KeyScope = { kind: 'none' };

export function matchesPrincipal(matcher: PrincipalMatcher, principal: Principal): boolean {
  switch (matcher.kind) {
    case 'anyone':
      return true;
    case 'anonymous':
      return principal.user === undefined && principal.certificateSubject === undefined;
    case 'user':
      return principal.user === matcher.name;
    case 'claim':
      return claimHolds(principal.claims[matcher.claim], matcher.value);
    case 'certificate': {
      const subject = principal.certificateSubject;
      if (!subject) return false;
      return Object.entries(matcher.attributes).every(([k, v]) => subject[k] === v);
    }
  }
}

/** A string claim equal to the value, or a list claim (groups, roles) holding it. */
function claimHolds(claim: unknown, value: string): boolean {
  if (typeof claim === 'string' || typeof claim === 'number' || typeof claim === 'boolean') return String(claim) === value;
  if (Array.isArray(claim)) return claim.some((c) => claimHolds(c, value));
  return false;
}

function grantGives(grant: Grant, right: Right): boolean {
  return grant.rights.includes('admin') || grant.rights.includes(right);
}

/** The keys of `namespace` on which `principal` has `right` under `policy`. */
export function scopeOf(policy: AccessPolicy, principal: Principal, namespace: string, right: Right): KeyScope {
  const prefixes: string[] = [];
  for (const grant of policy.grants) {
    if (!grantGives(grant, right)) continue;
    if (!grant.namespaces.includes('*') && !grant.namespaces.includes(namespace)) continue;
    if (!grant.principals.some((m) => matchesPrincipal(m, principal))) continue;
    if (grant.keyPrefix === undefined || grant.keyPrefix === '') return ALL_KEYS;
    prefixes.push(grant.keyPrefix);
  }
  return prefixes.length === 0 ? NO_KEYS : { kind: 'prefixes', prefixes };
}

/** True when some grant gives the principal any right at all on the namespace. */
export function hasAnyRight(policy: AccessPolicy, principal: Principal, namespace: string): boolean {
  return RIGHTS.some((r) => scopeOf(policy, principal, namespace, r).kind !== 'none');
}
