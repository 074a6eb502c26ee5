import type { OperationFigures } from './latency-recorder.js';
import type { PerfFigures, PerfSummary } from './perf-run.js';

const n1 = (x: number): string => x.toFixed(1);
const n2 = (x: number): string => x.toFixed(2);

function latencies(f: OperationFigures): string {
  const l = f.latencyMs;
  return `p50 ${n2(l.p50)} p95 ${n2(l.p95)} p99 ${n2(l.p99)} p99.9 ${n2(l.p999)} max ${n2(l.max)} ms`;
}

/** The live line of one reporting interval. */
export function formatInterval(f: PerfFigures, sinceStartMs: number): string {
  return (
    `[${Math.round(sinceStartMs / 1000)}s] ${n1(f.opsPerSec)} ops/s, failed ${n1((f.failed / Math.max(1, f.elapsedMs)) * 1000)}/s` +
    ` | write ${n1(f.write.opsPerSec)}/s ${latencies(f.write)}` +
    ` | read ${n1(f.read.opsPerSec)}/s ${latencies(f.read)}`
  );
}

/** The final summary, a few lines. */
export function formatSummary(s: PerfSummary): string {
  const lines = [
    `Summary: ${s.ops} ops in ${n1(s.elapsedMs / 1000)} s = ${n1(s.opsPerSec)} ops/s, ${s.failed} failed`,
    `  write ${s.write.ops} ops ${n1(s.write.opsPerSec)}/s  latency ${latencies(s.write)}  mean ${n2(s.write.latencyMs.mean)} ms`,
    `  read  ${s.read.ops} ops ${n1(s.read.opsPerSec)}/s  latency ${latencies(s.read)}  mean ${n2(s.read.latencyMs.mean)} ms`,
  ];
  if (s.lastErrors.write !== undefined) lines.push(`  last write error: ${s.lastErrors.write}`);
  if (s.lastErrors.read !== undefined) lines.push(`  last read error: ${s.lastErrors.read}`);
  return lines.join('\n');
}
