import type { LogFields, Logger } from '../../application/ports/logger.js';
import type { BoundCounter, BoundGauge, BoundHistogram, CounterMetric, GaugeMetric, HistogramMetric, Metrics } from '../../application/ports/metrics.js';
import type { ReadinessGate } from '../../application/ports/readiness.js';

/**
 * The logger of a simulation: keeps the last lines of every process in one ring, stamped
 * with simulated time, so that a failing seed can show what led up to it.
 */
export class SimLog {
  private readonly lines: string[] = [];
  constructor(
    private readonly now: () => number,
    private readonly capacity = 2_000,
    /** Lowest level kept: debug lines are many. */
    private readonly keepDebug = false,
  ) {}

  logger(process: string): Logger {
    return new SimLogger(this, { process });
  }

  add(level: string, msg: string, fields: LogFields): void {
    if (level === 'debug' && !this.keepDebug) return;
    this.lines.push(`${this.now().toFixed(1).padStart(9)} ${level.padEnd(5)} ${msg} ${JSON.stringify(fields, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    if (this.lines.length > this.capacity) this.lines.splice(0, this.lines.length - this.capacity);
  }

  tail(n: number): string[] {
    return this.lines.slice(-n);
  }
}

class SimLogger implements Logger {
  constructor(
    private readonly sink: SimLog,
    private readonly fields: LogFields,
  ) {}
  debug(msg: string, fields?: LogFields): void {
    this.sink.add('debug', msg, { ...this.fields, ...fields });
  }
  info(msg: string, fields?: LogFields): void {
    this.sink.add('info', msg, { ...this.fields, ...fields });
  }
  warn(msg: string, fields?: LogFields): void {
    this.sink.add('warn', msg, { ...this.fields, ...fields });
  }
  error(msg: string, fields?: LogFields): void {
    this.sink.add('error', msg, { ...this.fields, ...fields });
  }
  child(fields: LogFields): Logger {
    return new SimLogger(this.sink, { ...this.fields, ...fields });
  }
}

const NO_OP = { inc: () => undefined, observe: () => undefined, set: () => undefined };

/** Metrics nobody scrapes: a simulation checks behaviour, not numbers. */
export class DiscardedMetrics implements Metrics {
  counter(): CounterMetric {
    return { inc: () => undefined, bind: (): BoundCounter => NO_OP, remove: () => undefined };
  }
  histogram(): HistogramMetric {
    return { observe: () => undefined, bind: (): BoundHistogram => NO_OP, remove: () => undefined };
  }
  gauge(): GaugeMetric {
    return { set: () => undefined, bind: (): BoundGauge => NO_OP, remove: () => undefined, reset: () => undefined };
  }
  onScrape(): () => void {
    return () => undefined;
  }
}

/**
 * A node's readiness and health as its gRPC health service would report them: the
 * simulated network answers the coordinator's health checks and watches from it.
 */
export class SimHealth implements ReadinessGate {
  private readonly healthHolds = new Set<object>();
  private readonly listeners = new Set<(serving: boolean) => void>();

  get serving(): boolean {
    return this.healthHolds.size === 0;
  }

  /** Readiness alone (what a load balancer would probe): the coordinator does not look at it. */
  require(): () => void {
    return () => undefined;
  }

  requireForHealth(): () => void {
    const hold = {};
    this.healthHolds.add(hold);
    this.changed();
    return () => {
      if (this.healthHolds.delete(hold)) this.changed();
    };
  }

  watch(listener: (serving: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of [...this.listeners]) l(this.serving);
  }
}
