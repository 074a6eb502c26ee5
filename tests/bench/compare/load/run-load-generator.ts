/**
 * Runs a load plan in its own Node process (load-generator.ts, apart from the servers so that
 * its CPU is not counted against them); hands over each point as it is measured, with the CPU
 * time the servers and other processes used meanwhile. Shared by --compare and --security.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { PACKAGE_ROOT } from '../../../../src/bootstrap/cli/compiled-build.mjs';
import { cpuShares, sampleCpu, type CpuSample } from '../cpu-time.js';
import { track } from '../processes.js';
import type { PointResult } from '../results.js';
import type { LoadPlan } from './load-generator.js';

const GENERATOR = fileURLToPath(new URL('./load-generator.ts', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * The generator's process running `plan`, killed with the bench (tracked): it prints one JSON
 * line per event on its stdout.
 */
export function spawnLoadGenerator(plan: LoadPlan): ChildProcessByStdio<null, Readable, null> {
  const child = spawn(process.execPath, ['--import', 'tsx', GENERATOR, JSON.stringify(plan)], {
    cwd: PACKAGE_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  track(child);
  return child;
}

/**
 * Resolves when the generator has run the whole plan; rejects when it fails. While it runs,
 * `cleanups` holds its kill (for the bench's Ctrl-C handling).
 */
export function runLoadGenerator(plan: LoadPlan, serverPids: readonly number[], onPoint: (p: PointResult) => void, cleanups: Set<() => Promise<void>>): Promise<void> {
  let measuringSince: CpuSample | undefined;
  return new Promise((resolvePromise, reject) => {
    const child = spawnLoadGenerator(plan);
    const kill = async () => {
      child.kill('SIGKILL');
    };
    cleanups.add(kill);
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        const message = JSON.parse(line) as { type?: string; point?: PointResult };
        if (message.type === 'measuring') measuringSince = sampleCpu(serverPids, child.pid);
        if (message.type === 'point' && message.point !== undefined) {
          const now = sampleCpu(serverPids, child.pid);
          const shares = measuringSince === undefined || now === undefined ? undefined : cpuShares(measuringSince, now);
          measuringSince = undefined;
          if (shares !== undefined) log(`[${plan.label ?? plan.system}]   CPU: servers ${shares.serverCpuPercent}%, other processes ${shares.otherCpuPercent}%`);
          onPoint({ ...message.point, ...shares });
        }
      } catch {
        log(`load generator: ${line}`);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      cleanups.delete(kill);
      if (code === 0) resolvePromise();
      else reject(new Error(`the load generator ended with ${code ?? signal} (its output is above)`));
    });
  });
}
