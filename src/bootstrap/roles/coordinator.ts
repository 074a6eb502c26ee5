/**
 * Starting and stopping `oxia-ts coordinator` in order: metrics endpoint, the internal gRPC
 * listener (health NOT_SERVING meanwhile), the leased coordinator (config and discovery
 * started, then campaigning for the coordinator lease: it acts once it holds it, and stands
 * by until then), the admin listener (--public-addr; a standby refuses admin calls), then
 * SERVING and one "serving" log line naming the bound addresses. A standby is healthy and
 * serving too: it is ready to take over. Stopping runs the steps backwards (the coordinator
 * stops acting, then hands the lease back); the adapters are closed after it.
 */
import { HealthServiceHandlers, HealthStatusBoard, OVERALL_HEALTH_SERVICE, ServingStatus } from '../../adapters/grpc/health-service.js';
import { formatHostPort, GrpcServer } from '../../adapters/grpc/grpc-server.js';
import { HealthService, OxiaAdminService } from '../../adapters/grpc-protocol/service-definitions.js';
import { AdminServiceHandlers } from '../../adapters/grpc/admin-server.js';
import { ConsoleHttpServer } from '../../adapters/console/console-http-server.js';
import { KeyReader } from '../../application/ports/key-reader.js';
import { AccessPolicySource } from '../../application/ports/access-policy-source.js';
import { Authenticator } from '../../application/ports/authenticator.js';
import { closeAccessPolicy } from '../modules/security-module.js';
import { PinoLogger } from '../../adapters/logging/pino-logger.js';
import { MetricsHttpServer } from '../../adapters/metrics/metrics-http-server.js';
import { LeasedCoordinator } from '../../application/coordinator/leased-coordinator.js';
import { LeaseStore } from '../../application/ports/lease-store.js';
import { ClusterConfigSource } from '../../application/ports/cluster-config-source.js';
import { ClusterStatusStore } from '../../application/ports/cluster-status-store.js';
import { NodeDiscovery } from '../../application/ports/node-discovery.js';
import { StorageNodeClient } from '../../application/ports/storage-node-client.js';
import type { CoordinatorConfig } from '../config/coordinator-config.js';
import { AdminGrpcServer, createCoordinatorContainer } from '../containers/coordinator-container.js';
import type { CoordinatorContainerOverrides } from '../containers/coordinator-container.js';
import { reconfigureLogging } from './live-reconfiguration.js';
import { StopSequence, stopServing } from './stop-sequence.js';

export interface RunningCoordinator {
  readonly internalAddress: string;
  /** The admin API's address (--public-addr). */
  readonly publicAddress: string;
  readonly metricsAddress: string;
  /** The web console's URL (--console-addr), when it is served. */
  readonly consoleUrl: string | undefined;
  readonly logger: PinoLogger;
  /** Resolves if the coordinator had to stop (the status written outside the lease, a status it cannot use). */
  readonly failure: Promise<Error>;
  /** Whether this process holds the coordinator lease and acts (else it stands by). */
  isLeader(): boolean;
  /** Graceful stop; resolves once everything is closed. Idempotent. */
  close(): Promise<void>;
  /** Takes the settings that may change while running (a re-read config file). */
  reconfigure(config: CoordinatorConfig): void;
}

export async function startCoordinator(config: CoordinatorConfig, overrides: CoordinatorContainerOverrides = {}): Promise<RunningCoordinator> {
  const container = createCoordinatorContainer(config, overrides);
  const logger = container.get(PinoLogger);
  // The coordinator first, then its health endpoint; the adapters it uses to the end after it.
  const stops = new StopSequence(logger, [
    'console',
    'key reader',
    'admin grpc',
    'coordinator',
    'grpc',
    'storage node client',
    'discovery',
    'config source',
    'lease store',
    'status store',
    'access policy',
    'metrics',
  ]);

  try {
    logger.info('starting', {
      conf: config.clusterConfig,
      metadata: config.metadata,
      ...(config.metadata === 'file' ? { statusPath: config.statusFilePath } : { statusConfigMap: `${config.k8sNamespace}/${config.k8sStatusConfigMap}` }),
      discovery: config.discovery,
    });

    // Built now (an OIDC provider reads its keys, maybe from its issuer): a provider that
    // cannot start must stop the start before anything listens.
    await container.getAsync(Authenticator);

    const metricsServer = container.get(MetricsHttpServer);
    const metricsBound = await metricsServer.listen();
    stops.set('metrics', () => metricsServer.close());

    // Closed after the coordinator, which uses them to the end.
    const store = container.get(ClusterStatusStore);
    stops.set('status store', () => store.close());
    const leaseStore = container.get(LeaseStore);
    stops.set('lease store', () => leaseStore.close());
    const configSource = container.get(ClusterConfigSource);
    stops.set('config source', () => configSource.close());
    const discovery = container.get(NodeDiscovery);
    stops.set('discovery', () => discovery.close());
    const client = container.get(StorageNodeClient);
    stops.set('storage node client', () => client.close());

    const health = container.get(HealthStatusBoard);
    const grpc = container.get(GrpcServer);
    grpc.addService(HealthService, container.get(HealthServiceHandlers).implementation());
    const bound = await grpc.listen();
    stops.set('grpc', stopServing(health, [grpc]));

    const coordinator = container.get(LeasedCoordinator);
    stops.set('coordinator', () => coordinator.close());
    await coordinator.start();

    // The admin API answers from the acting coordinator's status; a standby refuses its calls.
    const policies = container.get(AccessPolicySource);
    stops.set('access policy', async () => closeAccessPolicy(policies));
    const adminGrpc = container.get(AdminGrpcServer);
    adminGrpc.addService(OxiaAdminService, container.get(AdminServiceHandlers).implementation());
    adminGrpc.addService(HealthService, container.get(HealthServiceHandlers).implementation());
    stops.set('admin grpc', () => adminGrpc.close());
    const adminBound = await adminGrpc.listen();
    // The web console (ADR 0028), like the admin API: answered by the coordinator holding the lease.
    let consoleUrl: string | undefined;
    if (config.consoleAddr) {
      const keyReader = container.get(KeyReader);
      stops.set('key reader', () => keyReader.close());
      const consoleServer = container.get(ConsoleHttpServer);
      stops.set('console', () => consoleServer.close());
      const consoleBound = await consoleServer.listen();
      consoleUrl = `${consoleServer.scheme}://${formatHostPort(consoleBound)}/`;
    }
    health.set(OVERALL_HEALTH_SERVICE, ServingStatus.SERVING);

    const internalAddress = formatHostPort(bound);
    const publicAddress = formatHostPort(adminBound);
    const metricsAddress = formatHostPort(metricsBound);
    // Exactly one line with this message: scripts and tests read the addresses from it.
    logger.info('serving', { internalAddress, publicAddress, metricsAddress, ...(consoleUrl ? { consoleUrl } : {}), leaseHolder: coordinator.holder });

    return {
      internalAddress,
      publicAddress,
      metricsAddress,
      consoleUrl,
      logger,
      failure: coordinator.failure,
      isLeader: () => coordinator.leading,
      close: () => stops.close(),
      reconfigure: (next) => reconfigureLogging(container, next),
    };
  } catch (error) {
    await stops.unwind();
    throw error;
  }
}
