import type { ServiceIdentifier } from 'inversify';
import type { AccessPolicy } from '../../domain/security/access-policy.js';

/**
 * The authorization policy in force. `current()` is called on every call, so it
 * returns what the adapter already holds (it re-reads its file on change and keeps
 * the last good policy when a new version does not parse). Undefined: no policy,
 * every principal the server let in may do everything.
 */
export interface AccessPolicySource {
  current(): AccessPolicy | undefined;
}
export const AccessPolicySource: ServiceIdentifier<AccessPolicySource> = Symbol.for('oxia.AccessPolicySource');

/** No policy configured. */
export const NO_ACCESS_POLICY: AccessPolicySource = { current: () => undefined };
