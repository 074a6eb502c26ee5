/**
 * Starting and stopping `oxia-ts standalone` in order: the steps every storage role takes
 * (WAL lock, authorization, metrics endpoint), the gRPC listener (health answers NOT_SERVING
 * meanwhile), the storage node and its shards opened, recovered and led by the local
 * coordinator (ADR 0033), public service registered, then SERVING and one "serving" log line
 * naming the bound addresses. Stopping runs the same steps backwards.
 */
import { HealthServiceHandlers, HealthStatusBoard, ServingStatus } from '../../adapters/grpc/health-service.js';
import { formatHostPort, GrpcServer } from '../../adapters/grpc/grpc-server.js';
import { HealthService } from '../../adapters/grpc-protocol/service-definitions.js';
import { PinoLogger } from '../../adapters/logging/pino-logger.js';
import { LocalCoordinator } from '../../application/node/local-coordinator.js';
import { LocalCoordinatorConfig } from '../../application/node/local-coordinator-config.js';
import { StorageNode } from '../../application/node/storage-node.js';
import type { StandaloneConfig } from '../config/standalone-config.js';
import { createStandaloneContainer } from '../containers/standalone-container.js';
import type { ContainerOverrides } from '../containers/storage-role-modules.js';
import { reconfigureStorage } from './live-reconfiguration.js';
import { StopSequence, stopServing } from './stop-sequence.js';
import { addPublicServices, startStorageRoleBasics } from './storage-role-start.js';

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
    const metricsAddress = await startStorageRoleBasics(container, stops);

    const health = container.get(HealthStatusBoard);
    const grpc = container.get(GrpcServer);
    grpc.addService(HealthService, container.get(HealthServiceHandlers).implementation());
    // Registered before the port opens, as the server role does: a client that reconnects while
    // the shards are still being led must get a retryable answer, not UNIMPLEMENTED.
    addPublicServices(container, grpc);
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

    health.setAll(ServingStatus.SERVING);

    const publicAddress = container.get(LocalCoordinatorConfig).publicAddress;
    // Exactly one line with this message: scripts and tests read the addresses from it.
    logger.info('serving', { publicAddress, bindAddress: formatHostPort(bound), metricsAddress });

    return { publicAddress, metricsAddress, logger, close: () => stops.close(), reconfigure: (next) => reconfigureStorage(container, next) };
  } catch (error) {
    await stops.unwind();
    throw error;
  }
}
