/**
 * Where the CPUs went during a measured point, from /proc (Linux only): the system's server
 * processes, the load generator, and everything else on the machine (other work competing
 * for the same CPUs, which on a shared machine can skew a point).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface CpuSample {
  readonly atMs: number;
  /** CPU seconds used so far. */
  readonly servers: number;
  readonly client: number;
  /** Busy CPU seconds of the whole machine since boot. */
  readonly machine: number;
}

/** Shares of one CPU, in %, over the time between two samples. */
export interface CpuShares {
  readonly serverCpuPercent: number;
  readonly otherCpuPercent: number;
}

let clockTicks: number | undefined;
/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 on Linux unless told otherwise). */
function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const v = Number(r.stdout?.trim());
    clockTicks = r.status === 0 && v > 0 ? v : 100;
  }
  return clockTicks;
}

export function sampleCpu(serverPids: readonly number[], clientPid: number | undefined): CpuSample | undefined {
  if (process.platform !== 'linux') return undefined;
  const machine = machineBusyTicks();
  if (machine === undefined) return undefined;
  const hz = clockTicksPerSecond();
  return {
    atMs: performance.now(),
    servers: processTicks(serverPids) / hz,
    client: processTicks(clientPid === undefined ? [] : [clientPid]) / hz,
    machine: machine / hz,
  };
}

/** User plus system CPU seconds of one process so far (0 when it is gone). */
export function processCpuSeconds(pid: number): number {
  return processTicks([pid]) / clockTicksPerSecond();
}

/** "Other" is the machine's busy time less the servers', the load generator's and this process's (small). */
export function cpuShares(from: CpuSample, to: CpuSample): CpuShares {
  const seconds = (to.atMs - from.atMs) / 1000;
  const percent = (cpuSeconds: number) => Math.max(0, Math.round((cpuSeconds / seconds) * 100));
  const servers = to.servers - from.servers;
  const client = to.client - from.client;
  return { serverCpuPercent: percent(servers), otherCpuPercent: percent(to.machine - from.machine - servers - client) };
}

/** User plus system ticks of these processes, all their threads; a process that is gone counts 0. */
function processTicks(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after "(comm)", which may hold spaces: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    ticks += Number(fields[14 - 3]) + Number(fields[15 - 3]);
  }
  return ticks;
}

/** user + nice + system + irq + softirq + steal of the "cpu" line of /proc/stat (guest time is inside user). */
function machineBusyTicks(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return [user, nice, system, irq, softirq, steal].reduce<number>((sum, v) => sum + (v ?? 0), 0);
  } catch {
    return undefined;
  }
}
