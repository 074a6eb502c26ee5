import { ContainerModule } from 'inversify';
import type { ContainerModuleLoadOptions } from 'inversify';
import { WatchedPolicyFile } from '../../adapters/access-policy-file/watched-policy-file.js';
import { createOidcAuthenticator } from '../../adapters/auth-oidc/create-oidc-authenticator.js';
import type { OidcSettings } from '../../adapters/auth-oidc/oidc-params.js';
import { PublicKeyFileError } from '../../adapters/auth-oidc/public-key-file.js';
import { AccessPolicySource, NO_ACCESS_POLICY } from '../../application/ports/access-policy-source.js';
import { Authenticator } from '../../application/ports/authenticator.js';
import { Logger } from '../../application/ports/logger.js';
import { AccessControlledApi } from '../../application/security/access-controlled-api.js';
import { OpenAuthenticator } from '../../application/security/open-authenticator.js';
import type { AccessSettings } from '../config/access-options.js';
import type { AuthenticationSettings } from '../config/auth-options.js';
import { ConfigError } from '../config/option-table.js';

export interface SecuritySettings extends AccessSettings {
  /** `--auth-provider-*`; undefined: every caller is let in. */
  readonly authentication: AuthenticationSettings | undefined;
}

/**
 * Who may call the public data API and what they may do: the Authenticator (who the
 * caller is) and the authorization policy (what that principal may do), both chosen by
 * config. The public handlers reach the node through AccessControlledApi. The OIDC
 * Authenticator is built asynchronously (key files, discovery): the role resolves it with
 * getAsync before it serves. The internal port has no Authenticator: mutual TLS guards it.
 */
export function securityModule(settings: SecuritySettings): ContainerModule {
  return new ContainerModule((options) => {
    options.bind(AccessControlledApi).toSelf().inSingletonScope();
    bindCallerSecurity(options.bind, settings);
  });
}

/**
 * Who the callers of a listener are and what they may do, without the data API: the
 * coordinator's admin listener takes the same Authenticator and policy as the servers.
 */
export function callerSecurityModule(settings: SecuritySettings): ContainerModule {
  return new ContainerModule(({ bind }) => bindCallerSecurity(bind, settings));
}

function bindCallerSecurity(bind: ContainerModuleLoadOptions['bind'], settings: SecuritySettings): void {
  const authentication = settings.authentication;
  if (authentication === undefined) bind(Authenticator).toConstantValue(new OpenAuthenticator());
  else bind(Authenticator).toDynamicValue((ctx) => oidcAuthenticator(authentication.oidc, ctx.get(Logger))).inSingletonScope();
  const file = settings.authorizationPolicyFile;
  if (file === undefined) bind(AccessPolicySource).toConstantValue(NO_ACCESS_POLICY);
  else bind(AccessPolicySource).toDynamicValue((ctx) => new WatchedPolicyFile(file, ctx.get(Logger).child({ component: 'authorization' }))).inSingletonScope();
}

async function oidcAuthenticator(settings: OidcSettings, log: Logger): Promise<Authenticator> {
  try {
    return await createOidcAuthenticator(settings, log);
  } catch (e) {
    // A key file named in the params is configuration: reported like the flags' errors.
    if (e instanceof PublicKeyFileError) throw new ConfigError([`--auth-provider-params: ${e.message}`]);
    throw e;
  }
}

/** Stops watching the policy file, when there is one. */
export function closeAccessPolicy(source: AccessPolicySource): void {
  if (source instanceof WatchedPolicyFile) source.close();
}
