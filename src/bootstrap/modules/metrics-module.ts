import { ContainerModule } from 'inversify';
import { Metrics } from '../../application/ports/metrics.js';
import { MetricsHttpOptions, MetricsHttpServer } from '../../adapters/metrics/metrics-http-server.js';
import { PromMetrics } from '../../adapters/metrics/prom-metrics.js';

/** Metrics -> prom-client, exposed by an HTTP server on /metrics. */
export function metricsModule(options: MetricsHttpOptions): ContainerModule {
  return new ContainerModule(({ bind }) => {
    bind(PromMetrics).toSelf().inSingletonScope();
    bind(Metrics).toService(PromMetrics);
    bind(MetricsHttpOptions).toConstantValue(options);
    bind(MetricsHttpServer).toSelf().inSingletonScope();
  });
}
