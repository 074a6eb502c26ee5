/**
 * Starting and stopping `oxia-ts standalone` in order: metrics endpoint, gRPC
 * listener (health answers NOT_SERVING meanwhile), the storage node, its shards opened,
 * recovered and led by the local coordinator (ADR 0033), public service registered, then SERVING and one "serving" log line naming the
 * bound addresses. Stopping runs the same steps backwards.
 */
import { HealthServiceHandlers, HealthStatusBoard, ServingStatus } from '../../adapters/grpc/health-service.js';
import { formatHostPort, GrpcServer } from '../../adapters/grpc/grpc-server.js';
import { PublicServiceHandlers } from '../../adapters/grpc/public-server.js';
import { HealthService, OxiaBackupService, OxiaClientCompatService, OxiaClientService } from '../../adapters/grpc-protocol/service-definitions.js';
import { PinoLogger } from '../../adapters/logging/pino-logger.js';
import { DiskSpaceMetrics } from '../../adapters/metrics/disk-space-metrics.js';
import { MetricsHttpServer } from '../../adapters/metrics/metrics-http-server.js';
import { Authenticator } from '../../application/ports/authenticator.js';
import { LocalCoordinator } from '../../application/node/local-coordinator.js';
import { LocalCoordinatorConfig } from '../../application/node/local-coordinator-config.js';
import { StorageNode } from '../../application/node/storage-node.js';
import type { StandaloneConfig } from '../config/standalone-config.js';
import { createStandaloneContainer } from '../containers/standalone-container.js';
import type { ContainerOverrides } from '../containers/storage-role-modules.js';
import { AccessPolicySource } from '../../application/ports/access-policy-source.js';
import { closeAccessPolicy } from '../modules/security-module.js';
import { reconfigureStorage } from './live-reconfiguration.js';
import { WalDirectoryLock } from '../../adapters/wal-file/wal-directory-lock.js';
import { StopSequence, stopServing } from './stop-sequence.js';

export interface RunningStandalone {
  /** Where clients connect (also the leader in shard assignments). */
  readonly publicAddress: string;
  readonly metricsAddress: string;
  readonly logger: PinoLogger;
  /** Graceful stop; resolves once everything is closed. Idempotent. */
  close(): Promise<void>;
  /** Takes the settings that may change while running (a re-read config file). */
  reconfigure(config: StandaloneConfig): void;
}

export async function startStandalone(config: StandaloneConfig, overrides: ContainerOverrides = {}): Promise<RunningStandalone> {
  const container = createStandaloneContainer(config, overrides);
  const logger = container.get(PinoLogger);
  // First stop serving (refuse calls, end streams, drain), then close the shards, then the metrics endpoint.
  const stops = new StopSequence(logger, ['grpc', 'node', 'wal lock', 'metrics', 'authorization policy']);

  try {
    logger.info('starting', {
      shards: config.shards,
      kv: config.kv,
      dataDir: config.dataDir,
      walDir: config.walDir,
      authentication: config.authentication?.provider ?? 'none',
      keySorting: config.keySorting,
      notificationsEnabled: config.notificationsEnabled,
    });

    // Before anything listens: a second node on the same WAL directory must not start.
    const walLock = container.get(WalDirectoryLock);
    await walLock.acquire();
    stops.set('wal lock', async () => walLock.release());

    // Built now (an OIDC provider reads its key files or discovers its issuers), and the policy
    // read: a start that cannot authenticate or authorize callers stops before anything listens.
    await container.getAsync(Authenticator);
    const policy = container.get(AccessPolicySource);
    stops.set('authorization policy', async () => closeAccessPolicy(policy));

    const metricsServer = container.get(MetricsHttpServer);
    const metricsBound = await metricsServer.listen();
    const diskSpace = container.get(DiskSpaceMetrics);
    diskSpace.start();
    stops.set('metrics', () => {
      diskSpace.close();
      return metricsServer.close();
    });

    const health = container.get(HealthStatusBoard);
    const grpc = container.get(GrpcServer);
    grpc.addService(HealthService, container.get(HealthServiceHandlers).implementation());
    const bound = await grpc.listen();
    stops.set('grpc', stopServing(health, [grpc]));

    const node = container.get(StorageNode);
    const coordinator = container.get(LocalCoordinator);
    // Set before start(): a start that fails halfway still closes what it opened.
    stops.set('node', () => {
      coordinator.close();
      return node.close();
    });
    node.start();
    // Every shard opened, recovered from its files and led alone at a new term.
    await coordinator.start();

    const publicHandlers = container.get(PublicServiceHandlers).implementation();
    grpc.addService(OxiaClientService, publicHandlers);
    grpc.addService(OxiaClientCompatService, publicHandlers);
    grpc.addService(OxiaBackupService, container.get(PublicServiceHandlers).backupImplementation());
    health.setAll(ServingStatus.SERVING);

    const publicAddress = container.get(LocalCoordinatorConfig).publicAddress;
    const metricsAddress = formatHostPort(metricsBound);
    // Exactly one line with this message: scripts and tests read the addresses from it.
    logger.info('serving', { publicAddress, bindAddress: formatHostPort(bound), metricsAddress });

    return { publicAddress, metricsAddress, logger, close: () => stops.close(), reconfigure: (next) => reconfigureStorage(container, next) };
  } catch (error) {
    await stops.unwind();
    throw error;
  }
}
