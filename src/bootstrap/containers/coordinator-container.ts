/**
 * The object graph of `oxia-ts coordinator`: the status store, the cluster config source and
 * the node discovery and the coordinator lease chosen by the flags, the grpc-js client for
 * storage nodes, the LeasedCoordinator (a Coordinator while this process holds the lease), and
 * a small gRPC server for health probes. The only file that knows which concrete classes
 * make up this role.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import { Container, ContainerModule } from 'inversify';
import type { ServiceIdentifier } from 'inversify';
import type { DestinationStream } from 'pino';
import { ActiveCoordinator } from '../../application/coordinator/active-coordinator.js';
import { ClusterAdmin } from '../../application/coordinator/cluster-admin.js';
import { ClusterConsole } from '../../application/console/cluster-console.js';
import { ClusterJournal } from '../../application/console/cluster-journal.js';
import { KeyReader } from '../../application/ports/key-reader.js';
import { ClientKeyReader, KeyReaderOptions } from '../../adapters/console/client-key-reader.js';
import { ConsoleHttpOptions, ConsoleHttpServer } from '../../adapters/console/console-http-server.js';
import { LeaseSettings } from '../../application/coordinator/coordinator-lease.js';
import { Logger } from '../../application/ports/logger.js';
import { Metrics } from '../../application/ports/metrics.js';
import { AdminServiceHandlers } from '../../adapters/grpc/admin-server.js';
import { GrpcServer } from '../../adapters/grpc/grpc-server.js';
import { ServerCallTracker } from '../../adapters/grpc/server-call-tracker.js';
import { CoordinatorSettings, DEFAULT_COORDINATOR_SETTINGS } from '../../application/coordinator/coordinator-settings.js';
import { LeasedCoordinator } from '../../application/coordinator/leased-coordinator.js';
import { LeaseStore } from '../../application/ports/lease-store.js';
import { ClusterConfigSource } from '../../application/ports/cluster-config-source.js';
import { ClusterStatusStore } from '../../application/ports/cluster-status-store.js';
import { NodeDiscovery } from '../../application/ports/node-discovery.js';
import { StorageNodeClient } from '../../application/ports/storage-node-client.js';
import {
  ConfigMapClusterConfigSource,
  ConfigMapConfigSourceOptions,
} from '../../adapters/cluster-config/configmap-cluster-config-source.js';
import { FileClusterConfigSource, FileConfigSourceOptions } from '../../adapters/cluster-config/file-cluster-config-source.js';
import { GrpcStorageNodeClient, StorageNodeClientOptions } from '../../adapters/coordination-client/grpc-storage-node-client.js';
import { KubernetesDiscoveryOptions, KubernetesNodeDiscovery } from '../../adapters/discovery-kubernetes/kubernetes-node-discovery.js';
import { StaticNodeDiscovery } from '../../adapters/discovery-static/static-node-discovery.js';
import { KubernetesConnection } from '../../adapters/kubernetes/kubernetes-connection.js';
import { ConfigMapClusterStatusStore, ConfigMapStatusStoreOptions } from '../../adapters/status-configmap/configmap-cluster-status-store.js';
import { KubernetesLeaseStore, KubernetesLeaseStoreOptions } from '../../adapters/status-configmap/kubernetes-lease-store.js';
import { FileClusterStatusStore, FileStatusStoreOptions } from '../../adapters/status-file/file-cluster-status-store.js';
import { FileLeaseStore, FileLeaseStoreOptions } from '../../adapters/status-file/file-lease-store.js';
import { MeteredClusterStatusStore } from '../../adapters/metrics/metered-cluster-status-store.js';
import type { CoordinatorConfig } from '../config/coordinator-config.js';
import { clockModule } from '../modules/clock-module.js';
import { grpcModule } from '../modules/grpc-module.js';
import { loggingModule } from '../modules/logging-module.js';
import { metricsModule } from '../modules/metrics-module.js';
import { peerChannelSecurityModule } from '../modules/peer-tls-module.js';
import { callerSecurityModule } from '../modules/security-module.js';

/** The admin API's listener (--public-addr); the internal one is GrpcServer itself, from grpcModule. */
export const AdminGrpcServer: ServiceIdentifier<GrpcServer> = Symbol.for('oxia.AdminGrpcServer');

/** Admin requests are small: a namespace or a data server. */
const ADMIN_RECEIVE_BYTES_MAX = 4 * 1024 * 1024;

export interface CoordinatorContainerOverrides {
  /** Log lines go here instead of stdout (in-process tests). */
  readonly logDestination?: DestinationStream;
}

/** Bound on each read of the console's key browser: a person is waiting. */
const CONSOLE_READ_TIMEOUT_MS = 5_000;

/** Health probes only: small messages. */
const INTERNAL_RECEIVE_BYTES_MAX = 4 * 1024 * 1024;

export function coordinatorSettingsOf(config: CoordinatorConfig): CoordinatorSettings {
  return {
    ...DEFAULT_COORDINATOR_SETTINGS,
    healthCheckIntervalMs: config.healthCheckIntervalMs,
    healthCheckTimeoutMs: config.healthCheckTimeoutMs,
    healthCheckFailureThreshold: config.healthCheckFailureThreshold,
    splitTimeoutMs: config.splitTimeoutMs,
  };
}

/**
 * This process in the coordinator lease: the host name (the pod's name in Kubernetes) for
 * people, and a random part so that a restarted process, or a second one on the same host,
 * is never taken for the holder it replaces.
 */
export function leaseHolderIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString('hex')}`;
}

/** In a pod: the service account; elsewhere: $KUBECONFIG or ~/.kube/config. */
function kubernetesConnection(): KubernetesConnection {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return { kubeConfig };
}

/** The chosen status store, before its calls are timed. */
const BackendClusterStatusStore: ServiceIdentifier<ClusterStatusStore> = Symbol.for('oxia.BackendClusterStatusStore');

function coordinatorModule(config: CoordinatorConfig): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(KubernetesConnection).toDynamicValue(kubernetesConnection).inSingletonScope();

    if (config.metadata === 'file') {
      bind(FileStatusStoreOptions).toConstantValue({ path: config.statusFilePath });
      bind(BackendClusterStatusStore).to(FileClusterStatusStore).inSingletonScope();
      bind(FileLeaseStoreOptions).toConstantValue({ dir: `${config.statusFilePath}.lease` });
      bind(LeaseStore).to(FileLeaseStore).inSingletonScope();
    } else {
      bind(ConfigMapStatusStoreOptions).toConstantValue({ namespace: config.k8sNamespace, name: config.k8sStatusConfigMap });
      bind(BackendClusterStatusStore).to(ConfigMapClusterStatusStore).inSingletonScope();
      // As Oxia: the Lease is named after the status ConfigMap.
      bind(KubernetesLeaseStoreOptions).toConstantValue({ namespace: config.k8sNamespace, name: config.k8sStatusConfigMap, readTimeoutMs: config.lease.renewDeadlineMs });
      bind(LeaseStore).to(KubernetesLeaseStore).inSingletonScope();
    }
    bind(ClusterStatusStore)
      .toDynamicValue((ctx) => new MeteredClusterStatusStore(ctx.get(BackendClusterStatusStore), ctx.get(Metrics)))
      .inSingletonScope();
    bind(LeaseSettings).toConstantValue({ holder: leaseHolderIdentity(), timings: config.lease });

    // With static discovery the config must list the servers; with Kubernetes the pods are the servers.
    const serversRequired = config.discovery === 'static';
    const location = config.clusterConfig;
    if (location.kind === 'file') {
      bind(FileConfigSourceOptions).toConstantValue({ path: location.path, serversRequired });
      bind(ClusterConfigSource).to(FileClusterConfigSource).inSingletonScope();
    } else {
      bind(ConfigMapConfigSourceOptions).toConstantValue({ namespace: location.namespace, name: location.name, serversRequired });
      bind(ClusterConfigSource).to(ConfigMapClusterConfigSource).inSingletonScope();
    }

    if (config.discovery === 'static') {
      bind(NodeDiscovery).to(StaticNodeDiscovery).inSingletonScope();
    } else {
      bind(KubernetesDiscoveryOptions).toConstantValue({
        namespace: config.k8sNamespace,
        labelSelector: config.k8sDiscoverySelector,
        serviceName: config.k8sDiscoveryService,
      });
      bind(NodeDiscovery).to(KubernetesNodeDiscovery).inSingletonScope();
    }

    bind(StorageNodeClientOptions).toConstantValue({ rpcTimeoutMs: config.rpcTimeoutMs });
    bind(GrpcStorageNodeClient).toSelf().inSingletonScope();
    bind(StorageNodeClient).toService(GrpcStorageNodeClient);
    bind(CoordinatorSettings).toConstantValue(coordinatorSettingsOf(config));
    bind(LeasedCoordinator).toSelf().inSingletonScope();
    // The admin API acts through the coordinator of the current leadership (none while standing by).
    bind(ActiveCoordinator).toService(LeasedCoordinator);
    bind(ClusterAdmin).toSelf().inSingletonScope();
    bind(AdminServiceHandlers).toSelf().inSingletonScope();
    // Kept by the process (not per leadership): the console shows what happened before a takeover too.
    bind(ClusterJournal).toSelf().inSingletonScope();
    if (config.consoleAddr) {
      // The console reads keys as a client of the servers' public listeners; the peer TLS
      // settings name the cluster's CA (and the coordinator's certificate for mutual TLS).
      bind(KeyReaderOptions).toConstantValue({ tls: config.peerTls, requestTimeoutMs: CONSOLE_READ_TIMEOUT_MS });
      bind(KeyReader).to(ClientKeyReader).inSingletonScope();
      bind(ClusterConsole).toSelf().inSingletonScope();
      bind(ConsoleHttpOptions).toConstantValue({ bind: config.consoleAddr, tls: config.publicTls });
      bind(ConsoleHttpServer).toSelf().inSingletonScope();
    }
    bind(AdminGrpcServer)
      .toDynamicValue(
        (ctx) =>
          new GrpcServer(
            { name: 'admin', bind: config.publicAddr, tls: config.publicTls, receiveMessageSizeBytesMax: ADMIN_RECEIVE_BYTES_MAX, shutdownTimeoutMs: config.shutdownTimeoutMs },
            ctx.get(ServerCallTracker),
            ctx.get(Logger),
            ctx.get(Metrics),
          ),
      )
      .inSingletonScope();
  });
}

export function createCoordinatorContainer(config: CoordinatorConfig, overrides: CoordinatorContainerOverrides = {}): Container {
  const container = new Container();
  container.load(
    loggingModule({
      level: config.logLevel,
      base: { role: 'coordinator' },
      ...(overrides.logDestination ? { destination: overrides.logDestination } : {}),
    }),
    metricsModule({ bind: config.metricsAddr, tls: config.metricsTls }),
    clockModule({ unrefTimers: true }),
    grpcModule({
      name: 'internal',
      bind: config.internalAddr,
      receiveMessageSizeBytesMax: INTERNAL_RECEIVE_BYTES_MAX,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      tls: config.internalTls,
    }),
    peerChannelSecurityModule(config.peerTls),
    // The admin listener's callers: the same Authenticator and policy as the storage roles'.
    callerSecurityModule(config),
    coordinatorModule(config),
  );
  return container;
}
