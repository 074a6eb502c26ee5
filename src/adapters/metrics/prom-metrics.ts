/**
 * The Metrics port on prom-client. Each instance owns its registry (so tests and
 * several nodes in one process do not collide), also carries the process metrics
 * (CPU, memory, event loop lag), and hands out the same instrument when a name is
 * asked for twice, since shard controllers come and go but their metrics stay.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { injectable } from 'inversify';
import type { CounterMetric, GaugeMetric, HistogramMetric, MetricLabels, Metrics } from '../../application/ports/metrics.js';

type Instrument = Counter | Histogram | Gauge;

/** Buckets by unit suffix: latencies from 0.1 ms to 10 s, sizes in bytes, counts. */
const SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const MS_BUCKETS = SECONDS_BUCKETS.map((s) => s * 1000);
const BYTE_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864, 268435456, 1073741824];
const COUNT_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000];

function bucketsFor(name: string): number[] | undefined {
  if (name.endsWith('_seconds')) return SECONDS_BUCKETS;
  if (/_(ms|milliseconds)$/.test(name)) return MS_BUCKETS;
  if (name.endsWith('_bytes')) return BYTE_BUCKETS;
  if (/_(count|entries|items|size)$/.test(name)) return COUNT_BUCKETS;
  return undefined; // prom-client's defaults, made for seconds
}

/** prom-client wants a mutable label object; ours are read-only records. */
const asLabels = (labels: MetricLabels | undefined): Record<string, string> => (labels ?? {}) as Record<string, string>;

@injectable()
export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly instruments = new Map<string, Instrument>();
  private readonly refreshers = new Set<() => void | Promise<void>>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  counter(name: string, help: string, labels: readonly string[] = []): CounterMetric {
    const counter = this.instrument(name, Counter, () => new Counter({ name, help, labelNames: [...labels], registers: [this.registry] }));
    return {
      inc: (values, by = 1) => counter.inc(asLabels(values), by),
      // A bound series exists from the start, at 0: PromQL sums like Oxia's `puts + deletes`
      // yield nothing while one of their terms is absent.
      bind: (values) => {
        const child = counter.labels(asLabels(values));
        child.inc(0);
        return child;
      },
      remove: (values) => counter.remove(asLabels(values)),
    };
  }

  histogram(name: string, help: string, labels: readonly string[] = []): HistogramMetric {
    const buckets = bucketsFor(name);
    const histogram = this.instrument(name, Histogram, () =>
      new Histogram({ name, help, labelNames: [...labels], registers: [this.registry], ...(buckets ? { buckets } : {}) }),
    );
    return {
      observe: (values, value) => histogram.observe(asLabels(values), value),
      bind: (values) => histogram.labels(asLabels(values)),
      remove: (values) => histogram.remove(asLabels(values)),
    };
  }

  gauge(name: string, help: string, labels: readonly string[] = []): GaugeMetric {
    const gauge = this.instrument(name, Gauge, () => new Gauge({ name, help, labelNames: [...labels], registers: [this.registry] }));
    return {
      set: (values, value) => gauge.set(asLabels(values), value),
      bind: (values) => gauge.labels(asLabels(values)),
      remove: (values) => gauge.remove(asLabels(values)),
      reset: () => gauge.reset(),
    };
  }

  onScrape(refresh: () => void | Promise<void>): () => void {
    this.refreshers.add(refresh);
    return () => this.refreshers.delete(refresh);
  }

  /** The text exposition format, as served on /metrics; scrape-time values are refreshed first. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    await Promise.all([...this.refreshers].map((refresh) => refresh()));
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private instrument<T extends Instrument>(name: string, kind: abstract new (...args: never[]) => T, create: () => T): T {
    const existing = this.instruments.get(name);
    if (existing) {
      if (!(existing instanceof kind)) throw new Error(`metric ${name} is already registered as another kind`);
      return existing;
    }
    const created = create();
    this.instruments.set(name, created);
    return created;
  }
}
