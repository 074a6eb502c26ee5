import { ContainerModule } from 'inversify';
import { ReadinessGate } from '../../application/ports/readiness.js';
import { GrpcServer, GrpcServerOptions } from '../../adapters/grpc/grpc-server.js';
import { HealthServiceHandlers, HealthStatusBoard } from '../../adapters/grpc/health-service.js';
import { PublicServiceHandlers } from '../../adapters/grpc/public-server.js';
import { ServerCallTracker } from '../../adapters/grpc/server-call-tracker.js';

/**
 * The public gRPC server and its handlers. PublicServiceHandlers needs the
 * AccessControlledApi (security-module.ts) over a ClientApi, which the role's container
 * binds (the standalone node or the storage server).
 * The health board is also the ReadinessGate: what the node waits for before it is ready.
 */
export function grpcModule(options: GrpcServerOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(GrpcServerOptions).toConstantValue(options);
    bind(ServerCallTracker).toSelf().inSingletonScope();
    bind(GrpcServer).toSelf().inSingletonScope();
    bind(HealthStatusBoard).toSelf().inSingletonScope();
    bind(ReadinessGate).toService(HealthStatusBoard);
    bind(HealthServiceHandlers).toSelf().inSingletonScope();
    bind(PublicServiceHandlers).toSelf().inSingletonScope();
  });
}
