/**
 * The object graph of `oxia-ts standalone`: the storage node of `oxia-ts server`, serving
 * ClientApi behind the public gRPC service, and a local coordinator that makes it lead every
 * shard alone (replication factor 1), as Oxia's standalone does; no internal service, no
 * replication to anyone. The only file that knows which concrete classes make up this role.
 */
import { hostname } from 'node:os';
import { Container, ContainerModule } from 'inversify';
import { ClientApi } from '../../application/client-api.js';
import { LocalCoordinator } from '../../application/node/local-coordinator.js';
import { LocalCoordinatorConfig } from '../../application/node/local-coordinator-config.js';
import { StorageNodeConfig } from '../../application/node/storage-node-config.js';
import { StorageNode } from '../../application/node/storage-node.js';
import { ReplicationClient } from '../../application/ports/replication-client.js';
import { formatHostPort, GrpcServer } from '../../adapters/grpc/grpc-server.js';
import type { HostPort } from '../../adapters/grpc/grpc-server.js';
import { NoReplicationClient } from '../../adapters/replication-client/no-replication-client.js';
import { DEFAULT_NAMESPACE } from '../../domain/sharding/namespace.js';
import type { StandaloneConfig } from '../config/standalone-config.js';
import { LiveStorageSettings } from '../config/live-storage-settings.js';
import { storageRoleModules } from './storage-role-modules.js';
import type { ContainerOverrides } from './storage-role-modules.js';

export type { ContainerOverrides } from './storage-role-modules.js';

/**
 * What clients are told to dial: the configured advertised address, else the bound
 * one. A wildcard bind host (0.0.0.0, ::) is no address to dial, so the machine's
 * host name stands in for it.
 */
export function advertisedAddress(config: StandaloneConfig, bound: HostPort): string {
  if (config.advertisedAddr !== undefined) return config.advertisedAddr;
  const wildcard = bound.host === '0.0.0.0' || bound.host === '::' || bound.host === '';
  return formatHostPort({ host: wildcard ? hostname() : bound.host, port: bound.port });
}

/** The one namespace a standalone node serves; the public address is known only once the gRPC server is bound. */
export function localCoordinatorConfigOf(config: StandaloneConfig, publicAddress: string): LocalCoordinatorConfig {
  return {
    publicAddress,
    namespaces: [
      {
        name: DEFAULT_NAMESPACE,
        initialShardCount: config.shards,
        keySorting: config.keySorting,
        notificationsEnabled: config.notificationsEnabled,
      },
    ],
  };
}

function standaloneNodeModule(config: StandaloneConfig): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(StorageNodeConfig).toDynamicValue((ctx) => ctx.get(LiveStorageSettings).nodeConfig({ soleNode: true })).inSingletonScope();
    bind(NoReplicationClient).toSelf().inSingletonScope();
    bind(ReplicationClient).toService(NoReplicationClient);
    bind(StorageNode).toSelf().inSingletonScope();
    bind(ClientApi).toService(StorageNode);
    // Resolved after GrpcServer.listen(): with --public-addr port 0 the real port
    // must be what assignments name as leader.
    bind(LocalCoordinatorConfig)
      .toDynamicValue((ctx) => localCoordinatorConfigOf(config, advertisedAddress(config, ctx.get(GrpcServer).boundAddress())))
      .inSingletonScope();
    bind(LocalCoordinator).toSelf().inSingletonScope();
  });
}

export function createStandaloneContainer(config: StandaloneConfig, overrides: ContainerOverrides = {}): Container {
  const container = new Container();
  container.load(...storageRoleModules('standalone', config, overrides), standaloneNodeModule(config));
  return container;
}
