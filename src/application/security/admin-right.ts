import { scopeOf, type AccessPolicy } from '../../domain/security/access-policy.js';
import type { Principal } from '../../domain/security/principal.js';
import { OxiaError } from '../../domain/errors/oxia-error.js';

/** Calls about the whole cluster (data servers, the console's cluster page) need `admin` on every namespace. */
export const EVERY_NAMESPACE = '*';

/**
 * Refuses (PermissionDenied) a caller without the `admin` right on the whole of `namespace`
 * under `policy`; without a policy every caller the listener let in may do everything.
 * Shared by the admin API and the web console, so that both answer the same callers.
 */
export function requireAdminRight(policy: AccessPolicy | undefined, caller: Principal, namespace: string): void {
  if (!policy) return;
  if (scopeOf(policy, caller, namespace, 'admin').kind === 'all') return;
  const what = namespace === EVERY_NAMESPACE ? 'every namespace ("*")' : `namespace "${namespace}"`;
  throw new OxiaError('PermissionDenied', `principal "${caller.name}" has no admin right on ${what}`);
}
