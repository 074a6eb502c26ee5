/**
 * Per-RPC metrics of a gRPC service under the names and labels of go-grpc-prometheus, which
 * Oxia's servers export and its gRPC dashboard queries (ADR 0026): calls started and handled
 * (by status code), messages received and sent, and the time from a call's start to its end
 * (for a stream, the whole stream). Series are bound once per method and code, so a call
 * looks up no labels.
 */
import { status as GrpcCode } from '@grpc/grpc-js';
import { performance } from 'node:perf_hooks';
import type { BoundCounter, BoundHistogram, CounterMetric, HistogramMetric, Metrics } from '../../application/ports/metrics.js';

/** go-grpc-prometheus's `grpc_type`. */
export type RpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

const LABELS = ['grpc_type', 'grpc_service', 'grpc_method'];

/** Go's names of the status codes (codes.Code.String()), what `grpc_code` holds. */
const CODE_NAMES: Readonly<Record<number, string>> = {
  [GrpcCode.OK]: 'OK',
  [GrpcCode.CANCELLED]: 'Canceled',
  [GrpcCode.UNKNOWN]: 'Unknown',
  [GrpcCode.INVALID_ARGUMENT]: 'InvalidArgument',
  [GrpcCode.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [GrpcCode.NOT_FOUND]: 'NotFound',
  [GrpcCode.ALREADY_EXISTS]: 'AlreadyExists',
  [GrpcCode.PERMISSION_DENIED]: 'PermissionDenied',
  [GrpcCode.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [GrpcCode.FAILED_PRECONDITION]: 'FailedPrecondition',
  [GrpcCode.ABORTED]: 'Aborted',
  [GrpcCode.OUT_OF_RANGE]: 'OutOfRange',
  [GrpcCode.UNIMPLEMENTED]: 'Unimplemented',
  [GrpcCode.INTERNAL]: 'Internal',
  [GrpcCode.UNAVAILABLE]: 'Unavailable',
  [GrpcCode.DATA_LOSS]: 'DataLoss',
  [GrpcCode.UNAUTHENTICATED]: 'Unauthenticated',
};

interface Families {
  readonly started: CounterMetric;
  readonly handled: CounterMetric;
  readonly received: CounterMetric;
  readonly sent: CounterMetric;
  readonly handling: HistogramMetric;
}

/** One method's series. */
export class RpcMethodMetrics {
  private readonly startedCount: BoundCounter;
  private readonly receivedCount: BoundCounter;
  private readonly sentCount: BoundCounter;
  private readonly handling: BoundHistogram;
  private readonly handledByCode = new Map<number, BoundCounter>();

  constructor(
    private readonly families: Families,
    private readonly labels: Readonly<Record<string, string>>,
  ) {
    this.startedCount = families.started.bind(labels);
    this.receivedCount = families.received.bind(labels);
    this.sentCount = families.sent.bind(labels);
    this.handling = families.handling.bind(labels);
  }

  /** Counts a started call; returns the start mark for `ended`. */
  started(): number {
    this.startedCount.inc();
    return performance.now();
  }

  received(): void {
    this.receivedCount.inc();
  }

  sent(): void {
    this.sentCount.inc();
  }

  /** Counts a finished call and the time since `startedMs` (from started()). */
  ended(code: GrpcCode, startedMs: number): void {
    let handled = this.handledByCode.get(code);
    if (handled === undefined) {
      handled = this.families.handled.bind({ ...this.labels, grpc_code: CODE_NAMES[code] ?? String(code) });
      this.handledByCode.set(code, handled);
    }
    handled.inc();
    this.handling.observe((performance.now() - startedMs) / 1000);
  }
}

/** The series of one gRPC service (its full name, as go-grpc-prometheus labels it: `package.Service`). */
export class RpcMetrics {
  private readonly families: Families;
  private readonly methods = new Map<string, RpcMethodMetrics>();

  constructor(
    metrics: Metrics,
    private readonly service: string,
  ) {
    this.families = {
      started: metrics.counter('grpc_server_started_total', 'gRPC calls the server started', LABELS),
      handled: metrics.counter('grpc_server_handled_total', 'gRPC calls the server finished, by status code', [...LABELS, 'grpc_code']),
      received: metrics.counter('grpc_server_msg_received_total', 'Request messages the server received', LABELS),
      sent: metrics.counter('grpc_server_msg_sent_total', 'Response messages the server sent', LABELS),
      handling: metrics.histogram(
        'grpc_server_handling_seconds',
        'Time from the start of a gRPC call to its end (a stream: its whole life)',
        LABELS,
      ),
    };
  }

  /** The method's series, bound on first use. */
  method(name: string, type: RpcType): RpcMethodMetrics {
    let m = this.methods.get(name);
    if (m === undefined) {
      m = new RpcMethodMetrics(this.families, { grpc_type: type, grpc_service: this.service, grpc_method: name });
      this.methods.set(name, m);
    }
    return m;
  }
}
