// One `oxia-ts perf --json` run in its own process (as a user would run it), for the
// benches: the compiled build when fresh, so the load generator costs what it costs users.
import { spawn } from 'node:child_process';
import type { PerfConfig, PerfSummary } from '../../src/adapters/perf/index.js';
import { OXIA_TS_BIN } from '../../src/bootstrap/dev-cluster/role-process.js';

/** Runs `oxia-ts perf` with `c` and resolves with its summary line. */
export function runPerfProcess(c: PerfConfig): Promise<PerfSummary> {
  const args = [
    OXIA_TS_BIN, 'perf', '--json',
    '--service-address', c.serviceAddress,
    '--namespace', c.namespace,
    '--rate', String(c.rate),
    '--read-write-percent', String(c.readPercentage),
    '--keys-cardinality', String(c.keysCardinality),
    '--value-size', String(c.valueSizeBytes),
    '--batch-linger', `${c.batchLingerMs}ms`,
    '--max-requests-per-batch', String(c.maxRequestsPerBatch),
    '--request-timeout', `${c.requestTimeoutMs}ms`,
    '--duration', `${c.durationMs}ms`,
    '--max-in-flight', String(c.maxInFlight),
    '--report-interval', `${c.reportIntervalMs}ms`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        const parsed = JSON.parse(last) as { type?: string } & PerfSummary;
        if (parsed.type === 'summary') return resolve(parsed);
      } catch {
        // Reported below with the process's output.
      }
      reject(new Error(`oxia-ts perf ended with ${code ?? signal}:\n${err}${out}`));
    });
  });
}
