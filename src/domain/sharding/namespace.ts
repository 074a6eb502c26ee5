export type KeySorting = 'hierarchical' | 'natural';

export const DEFAULT_NAMESPACE = 'default';

/** Namespace names as Oxia accepts them: DNS-label-like, 1 to 253 characters. */
const NAMESPACE_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,251}[a-zA-Z0-9])?$/;

export function isValidNamespaceName(name: string): boolean {
  return NAMESPACE_PATTERN.test(name);
}
