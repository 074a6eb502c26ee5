/**
 * The start steps the two storage roles (`standalone`, `server`) take alike, in the same
 * order: the WAL directory lock before anything listens, the authenticator built and the
 * authorization policy read (a start that cannot check callers stops there), the metrics
 * endpoint with the disks' free space; and, once the node is up, the public services.
 */
import type { Container } from 'inversify';
import type { GrpcServer } from '../../adapters/grpc/grpc-server.js';
import { formatHostPort } from '../../adapters/grpc/grpc-server.js';
import { PublicServiceHandlers } from '../../adapters/grpc/public-server.js';
import { OxiaBackupService, OxiaClientCompatService, OxiaClientService, OxiaTsClientService } from '../../adapters/grpc-protocol/service-definitions.js';
import { DiskSpaceMetrics } from '../../adapters/metrics/disk-space-metrics.js';
import { MetricsHttpServer } from '../../adapters/metrics/metrics-http-server.js';
import { WalDirectoryLock } from '../../adapters/wal-file/wal-directory-lock.js';
import { AccessPolicySource } from '../../application/ports/access-policy-source.js';
import { Authenticator } from '../../application/ports/authenticator.js';
import { closeAccessPolicy } from '../modules/security-module.js';
import type { StopSequence } from './stop-sequence.js';

/** The stop steps these start steps set. */
export type StorageRoleStep = 'wal lock' | 'metrics' | 'authorization policy';

/** Resolves with the metrics endpoint's bound address. */
export async function startStorageRoleBasics(container: Container, stops: Pick<StopSequence<StorageRoleStep>, 'set'>): Promise<string> {
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
  return formatHostPort(metricsBound);
}

/** Oxia's client service (and its compatibility name), our client extensions and the backup service, on the public listener. */
export function addPublicServices(container: Container, grpc: GrpcServer): void {
  const handlers = container.get(PublicServiceHandlers);
  const publicHandlers = handlers.implementation();
  grpc.addService(OxiaClientService, publicHandlers);
  grpc.addService(OxiaClientCompatService, publicHandlers);
  grpc.addService(OxiaTsClientService, handlers.extensionImplementation());
  grpc.addService(OxiaBackupService, handlers.backupImplementation());
}
