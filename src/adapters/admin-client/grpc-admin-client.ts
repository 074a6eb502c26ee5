/**
 * A client of the coordinator's admin API (`io.oxia.proto.v1.OxiaAdmin`), as Oxia's admin
 * client: one connection, one unary call per operation, an optional bearer token on every
 * call. Failures reject with the grpc-js ServiceError (code and the server's message).
 */
import { Client, Metadata, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { OxiaAdminService } from '../grpc-protocol/service-definitions.js';
import type { ChannelSecurity } from '../tls/grpc-channel-credentials.js';

type AdminService = typeof OxiaAdminService;
export type AdminMethod = keyof AdminService;
type RequestOf<M extends AdminMethod> = Parameters<AdminService[M]['requestSerialize']>[0];
type ResponseOf<M extends AdminMethod> = ReturnType<AdminService[M]['responseDeserialize']>;

export interface AdminClientOptions {
  readonly security: ChannelSecurity;
  /** Sent as `authorization: Bearer <token>`. */
  readonly token?: string | undefined;
  readonly requestTimeoutMs: number;
}

export class GrpcAdminClient {
  private readonly client: Client;

  constructor(
    readonly address: string,
    private readonly options: AdminClientOptions,
  ) {
    this.client = new Client(address, options.security.credentials, options.security.channelOptions);
  }

  call<M extends AdminMethod>(method: M, request: RequestOf<M>): Promise<ResponseOf<M>> {
    const def = OxiaAdminService[method] as unknown as AdminService['listNamespaces'];
    const metadata = new Metadata();
    if (this.options.token !== undefined) metadata.set('authorization', `Bearer ${this.options.token}`);
    const callOptions: CallOptions = { deadline: Date.now() + this.options.requestTimeoutMs };
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(def.path, def.requestSerialize as (r: RequestOf<M>) => Buffer, def.responseDeserialize as (b: Buffer) => ResponseOf<M>, request, metadata, callOptions, (error: ServiceError | null, response?: ResponseOf<M>) =>
        error || response === undefined ? reject(error ?? new Error('no response')) : resolve(response),
      );
    });
  }

  close(): void {
    this.client.close();
    this.options.security.close();
  }
}
