// A process's memory as the kernel counts it (Linux /proc/<pid>/status): the resident set now
// (VmRSS) and its peak (VmHWM), which can be reset (clear_refs 5) so that a peak belongs to one
// phase of a bench.
import { readFileSync, writeFileSync } from 'node:fs';

export interface ProcessMemory {
  readonly rssBytes: number;
  /** Highest resident set since the process started or since resetPeak(). */
  readonly peakBytes: number;
}

function statusField(status: string, name: string): number {
  const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status);
  if (!m) throw new Error(`no ${name} in /proc status`);
  return Number(m[1]) * 1024;
}

export function readMemory(pid: number): ProcessMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { rssBytes: statusField(status, 'VmRSS'), peakBytes: statusField(status, 'VmHWM') };
}

/** Sets the process's VmHWM back to its current VmRSS (Linux 4.0 and later; our own children only). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
