/**
 * The comparison's load generator, one process per system turn, apart from the servers so that
 * its CPU is not counted against them in-process: connects with the system's client, writes
 * every key, runs every operation at the highest number of callers for the start warm-up,
 * then per operation and number of callers runs a warm-up and a measured closed loop. Prints JSON lines on stdout, {type: 'measuring'} as a measured loop starts and
 * {type: 'point'} with its figures when it ends; progress goes to stderr.
 *
 *   node --import tsx tests/bench/compare/load/load-generator.ts '<LoadPlan as JSON>'
 */
import { randomFillSync } from 'node:crypto';
import type { Operation, SystemName } from '../options.js';
import type { PointResult } from '../results.js';
import { closedLoop, writeAll } from './closed-loop.js';
import { connectDriver, type KvDriver, type OxiaConnection } from './drivers.js';

export interface LoadPlan {
  readonly system: SystemName;
  /** Names the run in the progress lines (default: the system). */
  readonly label?: string;
  /** How the oxia-ts client connects: TLS, a token (plaintext and no token when absent). */
  readonly oxia?: OxiaConnection;
  readonly endpoints: readonly string[];
  readonly keys: number;
  readonly valueSizeBytes: number;
  readonly operations: readonly Operation[];
  readonly concurrencies: readonly number[];
  readonly warmupMs: number;
  /** Unmeasured load before the first point, split over the operations (none when absent). */
  readonly startWarmupMs?: number;
  readonly durationMs: number;
}

const PREFILL_CALLERS = 64;

async function main(plan: LoadPlan): Promise<void> {
  const log = (line: string) => process.stderr.write(`[${plan.label ?? plan.system}] ${line}\n`);
  const keys = Array.from({ length: plan.keys }, (_, i) => `key-${i}`);
  const value = randomFillSync(Buffer.alloc(plan.valueSizeBytes));
  const driver = await connectDriver(plan.system, plan.endpoints, plan.oxia);
  try {
    const t0 = performance.now();
    await writeAll((key) => driver.create(key, value), keys, PREFILL_CALLERS);
    log(`wrote ${keys.length} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const startWarmupMs = plan.startWarmupMs ?? 0;
    if (startWarmupMs > 0 && plan.operations.length > 0) {
      const callers = Math.max(...plan.concurrencies);
      log(`start warm-up: ${startWarmupMs / 1000} s at ${callers} callers (${plan.operations.join(', ')}), not measured`);
      for (const operation of plan.operations) {
        await closedLoop(operationOf(driver, operation, value), keys, callers, startWarmupMs / plan.operations.length);
      }
    }
    for (const operation of plan.operations) {
      const run = operationOf(driver, operation, value);
      for (const concurrency of plan.concurrencies) {
        if (plan.warmupMs > 0) await closedLoop(run, keys, concurrency, plan.warmupMs);
        // The bench samples the servers' CPU time between this line and the point's.
        process.stdout.write(`${JSON.stringify({ type: 'measuring', operation, concurrency })}\n`);
        const { figures, elapsedMs, lastError, cpuPercent } = await closedLoop(run, keys, concurrency, plan.durationMs);
        const point: PointResult = {
          system: plan.system,
          operation,
          concurrency,
          ops: figures.ops,
          opsPerSec: figures.opsPerSec,
          failed: figures.failed,
          p50Ms: figures.latencyMs.p50,
          p99Ms: figures.latencyMs.p99,
          p999Ms: figures.latencyMs.p999,
          elapsedMs: Math.round(elapsedMs),
          lastError,
          clientCpuPercent: cpuPercent,
        };
        log(`${operation} × ${concurrency}: ${Math.round(point.opsPerSec)} ops/s, p50 ${point.p50Ms} ms, p99 ${point.p99Ms} ms, p99.9 ${point.p999Ms} ms, client CPU ${cpuPercent}%${point.failed > 0 ? `, ${point.failed} failed (${lastError})` : ''}`);
        process.stdout.write(`${JSON.stringify({ type: 'point', point })}\n`);
      }
    }
  } finally {
    await driver.close();
  }
}

function operationOf(driver: KvDriver, operation: Operation, value: Buffer): (key: string) => Promise<void> {
  if (operation === 'put') return (key) => driver.put(key, value);
  return async (key) => {
    const got = await driver.get(key);
    if (got.length !== value.length) throw new Error(`read ${got.length} bytes of ${key}, wrote ${value.length}`);
  };
}

try {
  await main(JSON.parse(process.argv[2] ?? '') as LoadPlan);
  process.exit(0);
} catch (e) {
  process.stderr.write(`load generator: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
}
