/**
 * The object graph of `oxia-ts server`: every port bound to its adapter, one
 * StorageNode behind the public service (ClientApi) and the internal services
 * (CoordinationApi, ReplicationApi), two gRPC servers (public and internal) sharing
 * the health board and the call tracker. The only file that knows which concrete
 * classes make up this role.
 */
import { Container, ContainerModule } from 'inversify';
import type { ServiceIdentifier } from 'inversify';
import { ClientApi } from '../../application/client-api.js';
import { CoordinationApi, ReplicationApi } from '../../application/node/storage-node-api.js';
import { StorageNodeConfig } from '../../application/node/storage-node-config.js';
import { StorageNode } from '../../application/node/storage-node.js';
import { Metrics } from '../../application/ports/metrics.js';
import { Logger } from '../../application/ports/logger.js';
import { ReplicationClient } from '../../application/ports/replication-client.js';
import { GrpcServer } from '../../adapters/grpc/grpc-server.js';
import { InternalServiceHandlers } from '../../adapters/grpc/internal-server.js';
import { ServerCallTracker } from '../../adapters/grpc/server-call-tracker.js';
import { GrpcReplicationClient } from '../../adapters/replication-client/grpc-replication-client.js';
import { peerChannelSecurityModule } from '../modules/peer-tls-module.js';
import type { ServerConfig } from '../config/server-config.js';
import { LiveStorageSettings } from '../config/live-storage-settings.js';
import { grpcServerOptionsOf, storageRoleModules } from './storage-role-modules.js';
import type { ContainerOverrides } from './storage-role-modules.js';

/** The internal gRPC server (the public one is GrpcServer itself, from grpcModule). */
export const InternalGrpcServer: ServiceIdentifier<GrpcServer> = Symbol.for('oxia.InternalGrpcServer');

function storageNodeModule(config: ServerConfig): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(StorageNodeConfig).toDynamicValue((ctx) => ctx.get(LiveStorageSettings).nodeConfig()).inSingletonScope();
    bind(GrpcReplicationClient).toSelf().inSingletonScope();
    bind(ReplicationClient).toService(GrpcReplicationClient);
    bind(StorageNode).toSelf().inSingletonScope();
    bind(ClientApi).toService(StorageNode);
    bind(CoordinationApi).toService(StorageNode);
    bind(ReplicationApi).toService(StorageNode);
    bind(InternalServiceHandlers).toSelf().inSingletonScope();
    bind(InternalGrpcServer)
      .toDynamicValue((ctx) => new GrpcServer(grpcServerOptionsOf('internal', config.internalAddr, config.internalTls, config), ctx.get(ServerCallTracker), ctx.get(Logger), ctx.get(Metrics)))
      .inSingletonScope();
  });
}

export function createServerContainer(config: ServerConfig, overrides: ContainerOverrides = {}): Container {
  const container = new Container();
  container.load(...storageRoleModules('server', config, overrides), peerChannelSecurityModule(config.peerTls), storageNodeModule(config));
  return container;
}
