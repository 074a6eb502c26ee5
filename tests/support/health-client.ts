// grpc.health.v1 as probes and load balancers use it: Check, and Watch collecting every status it is sent.
import * as grpc from '@grpc/grpc-js';
import { HealthService } from '../../src/adapters/grpc-protocol/service-definitions.js';
import { HealthCheckResponse_ServingStatus as ServingStatus, type HealthCheckResponse } from '../../src/domain/wire/health.js';

export { ServingStatus };

type AnyClient = grpc.Client & { [K in keyof typeof HealthService]: (...args: any[]) => any };

export interface HealthWatch {
  /** Every status received so far, oldest first. */
  readonly seen: readonly ServingStatus[];
  cancel(): void;
}

export class HealthClient {
  private readonly client: AnyClient;

  constructor(readonly address: string) {
    const Ctor = grpc.makeGenericClientConstructor(HealthService, 'Health');
    this.client = new Ctor(address, grpc.credentials.createInsecure()) as unknown as AnyClient;
  }

  check(service: string): Promise<ServingStatus> {
    return new Promise((resolve, reject) =>
      this.client.check({ service }, { deadline: new Date(Date.now() + 10_000) }, (e: grpc.ServiceError | null, r: HealthCheckResponse) =>
        e ? reject(e) : resolve(r.status),
      ),
    );
  }

  watch(service: string): HealthWatch {
    const seen: ServingStatus[] = [];
    const call = this.client.watch({ service }) as grpc.ClientReadableStream<HealthCheckResponse>;
    call.on('data', (r: HealthCheckResponse) => seen.push(r.status));
    call.on('error', () => undefined);
    return { seen, cancel: () => call.cancel() };
  }

  close(): void {
    this.client.close();
  }
}
