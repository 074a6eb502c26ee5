import { ContainerModule } from 'inversify';
import type { ContainerModuleLoadOptions } from 'inversify';
import { WatchedPolicyFile } from '../../adapters/access-policy-file/watched-policy-file.js';
import { AccessPolicySource, NO_ACCESS_POLICY } from '../../application/ports/access-policy-source.js';
import { Authenticator } from '../../application/ports/authenticator.js';
import { Logger } from '../../application/ports/logger.js';
import { AccessControlledApi } from '../../application/security/access-controlled-api.js';
import { OpenAuthenticator } from '../../application/security/open-authenticator.js';
import type { AccessSettings } from '../config/access-options.js';

/**
 * Who may call the public data API and what they may do: the Authenticator (who the
 * caller is) and the authorization policy (what that principal may do), both chosen by
 * config. The public handlers reach the node through AccessControlledApi.
 */
export function securityModule(settings: AccessSettings): ContainerModule {
  return new ContainerModule((options) => {
    options.bind(AccessControlledApi).toSelf().inSingletonScope();
    bindCallerSecurity(options.bind, settings);
  });
}

/**
 * Who the callers of a listener are and what they may do, without the data API: the
 * coordinator's admin listener takes the same Authenticator and policy as the servers.
 */
export function callerSecurityModule(settings: AccessSettings): ContainerModule {
  return new ContainerModule(({ bind }) => bindCallerSecurity(bind, settings));
}

function bindCallerSecurity(bind: ContainerModuleLoadOptions['bind'], settings: AccessSettings): void {
  bind(Authenticator).toConstantValue(new OpenAuthenticator());
  const file = settings.authorizationPolicyFile;
  if (file === undefined) bind(AccessPolicySource).toConstantValue(NO_ACCESS_POLICY);
  else bind(AccessPolicySource).toDynamicValue((ctx) => new WatchedPolicyFile(file, ctx.get(Logger).child({ component: 'authorization' }))).inSingletonScope();
}

/** Stops watching the policy file, when there is one. */
export function closeAccessPolicy(source: AccessPolicySource): void {
  if (source instanceof WatchedPolicyFile) source.close();
}
