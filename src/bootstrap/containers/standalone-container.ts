/**
 * The object graph of `oxia-ts standalone`: every port bound to its adapter, the
 * StandaloneNode as the ClientApi behind the public gRPC service. The only file
 * that knows which concrete classes make up this role.
 */
import { hostname } from 'node:os';
import { Container, ContainerModule } from 'inversify';
import { ClientApi } from '../../application/client-api.js';
import { NodeConfig } from '../../application/node/node-config.js';
import { StandaloneNode } from '../../application/node/standalone-node.js';
import { formatHostPort, GrpcServer } from '../../adapters/grpc/grpc-server.js';
import type { HostPort } from '../../adapters/grpc/grpc-server.js';
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

/**
 * The node's settings; the public address is known only once the gRPC server is bound.
 * Limits and retention are read through `live`, so a re-read config file changes them.
 */
export function nodeConfigOf(config: StandaloneConfig, publicAddress: string, live: LiveStorageSettings): NodeConfig {
  const storage = live.nodeConfig();
  return {
    publicAddress,
    limits: storage.limits,
    get walRetentionMs() {
      return storage.walRetentionMs;
    },
    get notificationsRetentionMs() {
      return storage.notificationsRetentionMs;
    },
    retentionCheckIntervalMs: storage.retentionCheckIntervalMs,
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
    // Resolved after GrpcServer.listen(): with --public-addr port 0 the real port
    // must be what assignments name as leader.
    bind(NodeConfig)
      .toDynamicValue((ctx) => nodeConfigOf(config, advertisedAddress(config, ctx.get(GrpcServer).boundAddress()), ctx.get(LiveStorageSettings)))
      .inSingletonScope();
    bind(StandaloneNode).toSelf().inSingletonScope();
    bind(ClientApi).toService(StandaloneNode);
  });
}

export function createStandaloneContainer(config: StandaloneConfig, overrides: ContainerOverrides = {}): Container {
  const container = new Container();
  container.load(...storageRoleModules('standalone', config, overrides), standaloneNodeModule(config));
  return container;
}
