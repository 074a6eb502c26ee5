/**
 * The closed loop an application runs: N callers, each awaiting its operation before it
 * issues the next, on random keys, until a deadline. Latencies go into an HDR histogram.
 */
import { LatencyRecorder, type OperationFigures } from '../../../../src/adapters/perf/latency-recorder.js';

export interface LoopOutcome {
  readonly figures: OperationFigures;
  readonly elapsedMs: number;
  readonly lastError: string | undefined;
  /** This process's CPU time over the loop, in % of one CPU. */
  readonly cpuPercent: number;
}

export async function closedLoop(operation: (key: string) => Promise<void>, keys: readonly string[], callers: number, durationMs: number): Promise<LoopOutcome> {
  const recorder = new LatencyRecorder({ intervals: false });
  let lastError: string | undefined;
  const cpuStart = process.cpuUsage();
  const startMs = performance.now();
  // A deadline, not a timer: callers whose operations fail at once would never let a timer fire.
  const deadlineMs = startMs + durationMs;
  const caller = async (): Promise<void> => {
    while (performance.now() < deadlineMs) {
      const key = keys[Math.floor(Math.random() * keys.length)]!;
      const t0 = performance.now();
      try {
        await operation(key);
        recorder.record((performance.now() - t0) * 1000);
      } catch (e) {
        recorder.failed();
        lastError = e instanceof Error ? e.message : String(e);
      }
    }
  };
  await Promise.all(Array.from({ length: callers }, caller));
  // Until the last operation issued before the deadline finished.
  const elapsedMs = performance.now() - startMs;
  const cpu = process.cpuUsage(cpuStart);
  const cpuPercent = Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100);
  return { figures: recorder.totals(elapsedMs), elapsedMs, lastError, cpuPercent };
}

/** Writes every key once, `callers` at a time. */
export async function writeAll(create: (key: string) => Promise<void>, keys: readonly string[], callers: number): Promise<void> {
  let next = 0;
  const caller = async (): Promise<void> => {
    for (let i = next++; i < keys.length; i = next++) await create(keys[i]!);
  };
  await Promise.all(Array.from({ length: callers }, caller));
}
