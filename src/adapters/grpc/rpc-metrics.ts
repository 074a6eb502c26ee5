/** Per-RPC metrics of a gRPC service: how many calls ended with which code, and unary latency. */
import { status as GrpcCode } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import type { Metrics } from '../../application/ports/metrics.js';

export class RpcMetrics {
  private readonly handled;
  private readonly latency;

  constructor(
    metrics: Metrics,
    private readonly service: string,
  ) {
    this.handled = metrics.counter('oxia_grpc_server_handled_total', 'gRPC calls completed, by service, method and status code', ['service', 'method', 'code']);
    this.latency = metrics.histogram('oxia_grpc_server_unary_handling_seconds', 'Time from receiving a unary gRPC call to answering it', ['service', 'method']);
  }

  /** A start mark for `ended`. */
  start(): number {
    return performance.now();
  }

  /** Counts a finished call; `startedMs` (from start()) also records unary latency. */
  ended(method: string, code: GrpcCode, startedMs?: number): void {
    this.handled.inc({ service: this.service, method, code: GrpcCode[code] ?? String(code) });
    if (startedMs !== undefined) this.latency.observe({ service: this.service, method }, (performance.now() - startedMs) / 1000);
  }
}
