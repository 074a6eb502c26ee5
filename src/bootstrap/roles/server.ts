/**
 * Starting and stopping `oxia-ts server` in order: the steps every storage role takes (WAL
 * lock, authorization, metrics endpoint), public and internal gRPC listeners (health answers
 * NOT_SERVING meanwhile), the storage node, internal services (coordination, replication) and
 * public service registered, then SERVING and one "serving" log line naming the bound
 * addresses. Stopping runs the same steps backwards: no new calls, shards stopped and closed,
 * connections to followers closed, metrics endpoint closed.
 */
import { HealthServiceHandlers, HealthStatusBoard, ServingStatus } from '../../adapters/grpc/health-service.js';
import { formatHostPort, GrpcServer } from '../../adapters/grpc/grpc-server.js';
import { InternalServiceHandlers } from '../../adapters/grpc/internal-server.js';
import { HealthService, OxiaCoordinationService, OxiaLogReplicationService } from '../../adapters/grpc-protocol/service-definitions.js';
import { PinoLogger } from '../../adapters/logging/pino-logger.js';
import { StorageNode } from '../../application/node/storage-node.js';
import { ReplicationClient } from '../../application/ports/replication-client.js';
import type { ServerConfig } from '../config/server-config.js';
import { createServerContainer, InternalGrpcServer } from '../containers/server-container.js';
import type { ContainerOverrides } from '../containers/storage-role-modules.js';
import { reconfigureStorage } from './live-reconfiguration.js';
import { StopSequence, stopServing } from './stop-sequence.js';
import { addPublicServices, startStorageRoleBasics } from './storage-role-start.js';

export interface RunningServer {
  readonly publicAddress: string;
  readonly internalAddress: string;
  readonly metricsAddress: string;
  readonly logger: PinoLogger;
  /** Graceful stop; resolves once everything is closed. Idempotent. */
  close(): Promise<void>;
  /** Takes the settings that may change while running (a re-read config file). */
  reconfigure(config: ServerConfig): void;
}

export async function startServer(config: ServerConfig, overrides: ContainerOverrides = {}): Promise<RunningServer> {
  const container = createServerContainer(config, overrides);
  const logger = container.get(PinoLogger);
  // First stop serving, then the node (shards stopped and closed), then the connections to
  // followers it used to the end, then the metrics endpoint.
  const stops = new StopSequence(logger, ['grpc', 'storage node', 'wal lock', 'replication client', 'metrics', 'authorization policy']);

  try {
    logger.info('starting', {
      kv: config.kv,
      dataDir: config.dataDir,
      walDir: config.walDir,
      authentication: config.authentication?.provider ?? 'none',
      walSyncData: config.walSyncData,
      walSegmentSizeBytes: config.walSegmentSizeBytes,
      walRetentionMs: config.walRetentionMs,
    });

    const metricsAddress = await startStorageRoleBasics(container, stops);

    const replicationClient = container.get(ReplicationClient);
    stops.set('replication client', () => replicationClient.close());

    const node = container.get(StorageNode);
    stops.set('storage node', () => node.close());

    const health = container.get(HealthStatusBoard);
    const healthHandlers = container.get(HealthServiceHandlers).implementation();
    const publicGrpc = container.get(GrpcServer);
    const internalGrpc = container.get(InternalGrpcServer);
    publicGrpc.addService(HealthService, healthHandlers);
    internalGrpc.addService(HealthService, healthHandlers);
    const internalHandlers = container.get(InternalServiceHandlers);
    internalGrpc.addService(OxiaCoordinationService, internalHandlers.coordinationImplementation());
    internalGrpc.addService(OxiaLogReplicationService, internalHandlers.replicationImplementation());
    addPublicServices(container, publicGrpc);

    // Set before listening: should the internal address be taken, the public listener is closed too.
    stops.set('grpc', stopServing(health, [publicGrpc, internalGrpc]));
    const publicBound = await publicGrpc.listen();
    const internalBound = await internalGrpc.listen();

    node.start();
    health.setAll(ServingStatus.SERVING);

    const publicAddress = formatHostPort(publicBound);
    const internalAddress = formatHostPort(internalBound);
    // Exactly one line with this message: scripts and tests read the addresses from it.
    logger.info('serving', { publicAddress, internalAddress, metricsAddress });

    return { publicAddress, internalAddress, metricsAddress, logger, close: () => stops.close(), reconfigure: (next) => reconfigureStorage(container, next) };
  } catch (error) {
    await stops.unwind();
    throw error;
  }
}
