/**
 * The coordinator's admin API over gRPC (`io.oxia.proto.v1.OxiaAdmin`, on --public-addr):
 * every call is authenticated by the Authenticator, then answered by ClusterAdmin, which
 * checks the caller's `admin` right; errors take the form status-mapping.ts gives them.
 */
import { status as GrpcCode } from '@grpc/grpc-js';
import type { sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { inject, injectable } from 'inversify';
import { ClusterAdmin } from '../../application/coordinator/cluster-admin.js';
import { Authenticator } from '../../application/ports/authenticator.js';
import { Logger } from '../../application/ports/logger.js';
import { Metrics } from '../../application/ports/metrics.js';
import type { Principal } from '../../domain/security/principal.js';
import { callCredentialsOf } from './call-credentials.js';
import { RpcMetrics } from './rpc-metrics.js';
import { errorToStatus } from './status-mapping.js';

@injectable()
export class AdminServiceHandlers {
  private readonly log: Logger;
  private readonly rpcMetrics: RpcMetrics;

  constructor(
    @inject(ClusterAdmin) private readonly admin: ClusterAdmin,
    @inject(Authenticator) private readonly authenticator: Authenticator,
    @inject(Logger) logger: Logger,
    @inject(Metrics) metrics: Metrics,
  ) {
    this.log = logger.child({ component: 'admin-grpc' });
    this.rpcMetrics = new RpcMetrics(metrics, 'io.oxia.proto.v1.OxiaAdmin');
  }

  /** Handlers keyed like OxiaAdminService. */
  implementation(): UntypedServiceImplementation {
    const a = this.admin;
    return {
      listDataServers: this.unary('ListDataServers', (caller) => a.listDataServers(caller)),
      getDataServer: this.unary('GetDataServer', (caller, req) => a.getDataServer(caller, req)),
      createDataServer: this.unary('CreateDataServer', (caller, req) => a.createDataServer(caller, req)),
      patchDataServer: this.unary('PatchDataServer', (caller, req) => a.patchDataServer(caller, req)),
      deleteDataServer: this.unary('DeleteDataServer', (caller, req) => a.deleteDataServer(caller, req)),
      createNamespace: this.unary('CreateNamespace', (caller, req) => a.createNamespace(caller, req)),
      patchNamespace: this.unary('PatchNamespace', (caller, req) => a.patchNamespace(caller, req)),
      deleteNamespace: this.unary('DeleteNamespace', (caller, req) => a.deleteNamespace(caller, req)),
      getNamespace: this.unary('GetNamespace', (caller, req) => a.getNamespace(caller, req)),
      listNamespaces: this.unary('ListNamespaces', (caller) => a.listNamespaces(caller)),
      splitShard: this.unary('SplitShard', (caller, req) => a.splitShard(caller, req)),
    };
  }

  private unary<Req, Res>(method: string, run: (caller: Principal, request: Req) => Res | Promise<Res>): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
    return (call, callback) =>
      void (async () => {
        const rpc = this.rpcMetrics.method(method, 'unary');
        const started = rpc.started();
        rpc.received();
        let caller: Principal | undefined;
        try {
          caller = await this.authenticator.authenticate(callCredentialsOf(call));
          const response = await run(caller, call.request);
          if (method.startsWith('Create') || method.startsWith('Patch') || method.startsWith('Delete') || method === 'SplitShard') {
            this.log.info('admin change', { method, principal: caller.name, peer: call.getPeer() });
          }
          callback(null, response);
          rpc.sent();
          rpc.ended(GrpcCode.OK, started);
        } catch (error) {
          const status = errorToStatus(error, (e) => this.log.error('admin call failed unexpectedly', { method, error: e instanceof Error ? e.stack : String(e) }));
          if (status.code !== GrpcCode.INTERNAL) this.log.debug('admin call refused', { method, principal: caller?.name, code: status.code, message: status.details });
          callback(status);
          rpc.ended(status.code, started);
        }
      })();
  }
}
