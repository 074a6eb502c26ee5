import { randomFillSync } from 'node:crypto';
import { KeyNotFoundError, OxiaClient } from '../client/index.js';
import { LatencyRecorder, type OperationFigures } from './latency-recorder.js';
import type { PerfConfig } from './perf-config.js';

/** Figures of a period: a reporting interval, or the whole run. */
export interface PerfFigures {
  readonly elapsedMs: number;
  readonly ops: number;
  readonly opsPerSec: number;
  readonly failed: number;
  readonly write: OperationFigures;
  readonly read: OperationFigures;
}

export interface PerfSummary extends PerfFigures {
  readonly config: PerfConfig;
  /** The last failure's message per kind of operation, to tell what went wrong. */
  readonly lastErrors: { readonly write?: string; readonly read?: string };
}

export interface PerfHooks {
  /** Ends the run early (as reaching `durationMs` does). */
  readonly signal?: AbortSignal | undefined;
  /** Called every `reportIntervalMs` with that interval's figures. */
  readonly onInterval?: ((figures: PerfFigures) => void) | undefined;
}

/** How far a fixed rate may fall behind before the missed operations are dropped: one second's worth. */
const RATE_BURST_SECONDS = 1;
/** Longest pause of the scheduler at a fixed rate; also bounds how late it notices the end. */
const SCHEDULER_TICK_MS_MAX = 50;

/**
 * Runs a perf test like Oxia's `oxia perf`: random reads and writes over `key-0` ..
 * `key-<n-1>` at a fixed rate (open loop: operations are issued on schedule, whether or
 * not earlier ones finished) or, with rate 0, as fast as `maxInFlight` outstanding
 * operations allow (closed loop). Latencies go into HDR histograms. A read of a key
 * not written yet counts as a success, as in Oxia. The client is connected for the run
 * and closed after it.
 */
export async function runPerf(config: PerfConfig, hooks: PerfHooks = {}): Promise<PerfSummary> {
  const client = await OxiaClient.connect(config.serviceAddress, {
    namespace: config.namespace,
    batchLingerMs: config.batchLingerMs,
    maxRequestsPerBatch: config.maxRequestsPerBatch,
    requestTimeoutMs: config.requestTimeoutMs,
    // The client's own admission bound must not be the one that limits the run.
    maxPendingRequests: Math.max(config.maxInFlight, 1),
    ...(config.tls ? { tls: config.tls } : {}),
    ...(config.authentication ? { authentication: config.authentication } : {}),
    logger: { warn: () => {} },
  });
  try {
    return await new PerfRun(client, config, hooks).run();
  } finally {
    await client.close();
  }
}

class PerfRun {
  private readonly keys: string[];
  private readonly fixedValue: Buffer;
  private readonly writes = new LatencyRecorder();
  private readonly reads = new LatencyRecorder();
  private readonly lastErrors: { write?: string; read?: string } = {};
  private inFlight = 0;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: OxiaClient,
    private readonly config: PerfConfig,
    private readonly hooks: PerfHooks,
  ) {
    this.keys = Array.from({ length: config.keysCardinality }, (_, i) => `key-${i}`);
    this.fixedValue = Buffer.alloc(config.valueSizeBytes);
  }

  async run(): Promise<PerfSummary> {
    const startMs = performance.now();
    let lastReportMs = startMs;
    const report = setInterval(() => {
      const now = performance.now();
      const elapsedMs = now - lastReportMs;
      lastReportMs = now;
      this.hooks.onInterval?.(combine(elapsedMs, this.writes.takeInterval(elapsedMs), this.reads.takeInterval(elapsedMs)));
    }, this.config.reportIntervalMs);
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    this.hooks.signal?.addEventListener('abort', onAbort, { once: true });
    if (this.hooks.signal?.aborted) stop.abort();
    const timer = this.config.durationMs > 0 ? setTimeout(() => stop.abort(), this.config.durationMs) : undefined;
    stop.signal.addEventListener('abort', () => this.wake?.(), { once: true });
    try {
      await (this.config.rate > 0 ? this.atFixedRate(startMs, stop.signal) : this.asFastAsPossible(stop.signal));
      // Operations already issued complete (or fail at their request timeout).
      while (this.inFlight > 0) await this.nextWake(SCHEDULER_TICK_MS_MAX);
    } finally {
      clearInterval(report);
      clearTimeout(timer);
      this.hooks.signal?.removeEventListener('abort', onAbort);
    }
    const elapsedMs = performance.now() - startMs;
    return { config: this.config, ...combine(elapsedMs, this.writes.totals(elapsedMs), this.reads.totals(elapsedMs)), lastErrors: { ...this.lastErrors } };
  }

  /** Open loop: the n-th operation is due at start + n / rate; a backlog beyond one second is dropped. */
  private async atFixedRate(startMs: number, stop: AbortSignal): Promise<void> {
    const rate = this.config.rate;
    let issued = 0;
    while (!stop.aborted) {
      const due = Math.floor(((performance.now() - startMs) / 1000) * rate);
      issued = Math.max(issued, due - Math.ceil(rate * RATE_BURST_SECONDS));
      while (issued < due && this.inFlight < this.config.maxInFlight) {
        this.issue();
        issued++;
      }
      const untilNextMs = ((issued + 1) / rate) * 1000 - (performance.now() - startMs);
      // Blocked by maxInFlight: a completion wakes us; else the next due time does.
      await this.nextWake(this.inFlight >= this.config.maxInFlight ? SCHEDULER_TICK_MS_MAX : Math.min(SCHEDULER_TICK_MS_MAX, Math.max(1, untilNextMs)));
    }
  }

  /** Closed loop: keeps maxInFlight operations outstanding. */
  private async asFastAsPossible(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      while (this.inFlight < this.config.maxInFlight) this.issue();
      await this.nextWake(SCHEDULER_TICK_MS_MAX);
    }
  }

  /** Resolves on the next completion (or stop), or after `timeoutMs`. */
  private nextWake(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        if (self.wake === done) self.wake = undefined;
        resolve();
      }
      this.wake = done;
    });
  }

  private issue(): void {
    const isRead = Math.random() * 100 < this.config.readPercentage;
    const key = this.keys[Math.floor(Math.random() * this.keys.length)] as string;
    const recorder = isRead ? this.reads : this.writes;
    const startedMs = performance.now();
    this.inFlight++;
    const operation = isRead ? this.client.get(key) : this.client.put(key, this.value());
    // One reaction per operation (no .finally chain): the load generator must cost little
    // next to the client it measures.
    operation.then(
      () => this.settled(recorder, startedMs),
      (e: unknown) => {
        // A read of a key never written is a valid outcome, timed like any other.
        if (isRead && e instanceof KeyNotFoundError) {
          this.settled(recorder, startedMs);
          return;
        }
        recorder.failed();
        this.lastErrors[isRead ? 'read' : 'write'] = e instanceof Error ? e.message : String(e);
        this.inFlight--;
        this.wake?.();
      },
    );
  }

  private settled(recorder: LatencyRecorder, startedMs: number): void {
    recorder.record((performance.now() - startedMs) * 1000);
    this.inFlight--;
    this.wake?.();
  }

  private value(): Buffer {
    if (!this.config.randomPayload) return this.fixedValue;
    // A new buffer each time: the client sends the caller's bytes without copying them.
    return randomFillSync(Buffer.allocUnsafe(this.config.valueSizeBytes));
  }
}

function combine(elapsedMs: number, write: OperationFigures, read: OperationFigures): PerfFigures {
  const ops = write.ops + read.ops;
  return {
    elapsedMs: Math.round(elapsedMs),
    ops,
    opsPerSec: elapsedMs > 0 ? Math.round((ops / elapsedMs) * 1000 * 10) / 10 : 0,
    failed: write.failed + read.failed,
    write,
    read,
  };
}
