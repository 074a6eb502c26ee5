/**
 * The Metrics port on prom-client. Each instance owns its registry (so tests and
 * several nodes in one process do not collide), also carries the process metrics
 * (CPU, memory, event loop lag), and hands out the same instrument when a name is
 * asked for twice, since shard controllers come and go but their metrics stay.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { injectable } from 'inversify';
import type { Metrics } from '../../application/ports/metrics.js';

type Instrument = Counter | Histogram | Gauge;

/** Buckets by unit suffix: core latencies are reported in ms, sizes in bytes. */
const MS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const BYTE_BUCKETS = [64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216];
const COUNT_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10000];

function bucketsFor(name: string): number[] | undefined {
  if (/_(ms|milliseconds)$/.test(name)) return MS_BUCKETS;
  if (/_bytes$/.test(name)) return BYTE_BUCKETS;
  if (/_(count|entries|items|size)$/.test(name)) return COUNT_BUCKETS;
  return undefined; // prom-client's defaults, made for seconds
}

@injectable()
export class PromMetrics implements Metrics {
  readonly registry = new Registry();
  private readonly instruments = new Map<string, Instrument>();

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }

  counter(name: string, help: string, labels: readonly string[] = []): { inc(labels?: Record<string, string>, by?: number): void } {
    const counter = this.instrument(name, Counter, () => new Counter({ name, help, labelNames: [...labels], registers: [this.registry] }));
    return { inc: (values, by = 1) => counter.inc(values ?? {}, by) };
  }

  histogram(name: string, help: string, labels: readonly string[] = []): { observe(labels: Record<string, string>, value: number): void } {
    const buckets = bucketsFor(name);
    const histogram = this.instrument(name, Histogram, () =>
      new Histogram({ name, help, labelNames: [...labels], registers: [this.registry], ...(buckets ? { buckets } : {}) }),
    );
    return { observe: (values, value) => histogram.observe(values, value) };
  }

  gauge(name: string, help: string, labels: readonly string[] = []): { set(labels: Record<string, string>, value: number): void } {
    const gauge = this.instrument(name, Gauge, () => new Gauge({ name, help, labelNames: [...labels], registers: [this.registry] }));
    return { set: (values, value) => gauge.set(values, value) };
  }

  /** The text exposition format, as served on /metrics. */
  async exposition(): Promise<{ contentType: string; body: string }> {
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
