import { ContainerModule } from 'inversify';
import { Logger } from '../../application/ports/logger.js';
import { channelSecurityFromFiles, PeerChannelSecurity, PLAINTEXT } from '../../adapters/tls/grpc-channel-credentials.js';
import type { ClientTlsSettings } from '../../adapters/tls/tls-settings.js';

/**
 * How a role calls other servers' internal listeners (`--peer-tls-*`): plaintext, or TLS with
 * the files followed as they rotate. The files are read when first needed (at start): a bad one
 * fails the start, naming it.
 */
export function peerChannelSecurityModule(tls: ClientTlsSettings | undefined): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(PeerChannelSecurity)
      .toDynamicValue((ctx) => (tls ? channelSecurityFromFiles(tls, ctx.get(Logger).child({ component: 'peer-tls' })) : PLAINTEXT))
      .inSingletonScope();
  });
}
