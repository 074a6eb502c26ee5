/** The machine a bench ran on, for its report (benchmark figures mean little without it). */
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus, release, totalmem, type } from 'node:os';
import { PACKAGE_ROOT } from '../../../src/bootstrap/cli/compiled-build.mjs';
import type { MachineInfo } from './results.js';

/** What is known at the start; `loadAverageEnd` is filled in at the end. */
export function machineInfo(loadAverageStart: number): MachineInfo {
  const git = (args: string[]) => {
    const r = spawnSync('git', args, { cwd: PACKAGE_ROOT, encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : undefined;
  };
  const head = git(['rev-parse', '--short', 'HEAD']);
  const dirty = (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '';
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown CPU',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.versions.node,
    os: `${type()} ${release()}`,
    loadAverageStart,
    loadAverageEnd: loadAverageStart,
    commit: head === undefined ? undefined : `${head}${dirty ? ' (with uncommitted changes)' : ''}`,
  };
}
