/**
 * CPU time per operation of each process of a closed loop (issue 8 §3): a 3-node cluster as
 * `--compare` starts it (RF 3, --shards shards, SQLite), the compare bench's load generator in its
 * own process, and per measured point the user+system CPU seconds each process used (from
 * /proc) divided by the operations completed. On a shared machine this ratio moves far less
 * than ops/s does, so it is what to compare before and after a change (same session). Not part
 * of `npm test`.
 *
 *   node --import tsx tests/bench/cpu-per-op.ts [--ops put,get] [--concurrency 256]
 *        [--duration 8s] [--warmup 2s] [--shards 3] [--keys 1000] [--runs 1]
 *        [--cpu-prof <dir>]   every process (nodes, coordinator, load generator) writes a
 *                             V8 CPU profile of each measured loop there, named
 *                             <op>-x<callers>-<role>-<pid>.cpuprofile (profile-top.ts
 *                             summarises one); the profiler's own cost inflates CPU per op
 *
 *        [--idle 3s]          how long the servers' CPU is sampled without load first
 *
 * Prints one line per point and process: µs of CPU per op, and the shards it leads; for the
 * servers also "net": less their CPU without load (sampled for --idle before the load
 * starts), which on a busy machine, at low rates, is a large part of the total.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, readdirSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { buildIsFresh } from '../../src/bootstrap/cli/compiled-build.mjs';
import { startDevCluster, type RunningDevCluster } from '../../src/bootstrap/dev-cluster/dev-cluster.js';
import { parseDurationMs } from '../../src/bootstrap/config/values.js';
import { processCpuSeconds } from './compare/cpu-time.js';
import type { LoadPlan } from './compare/load/load-generator.js';
import { spawnLoadGenerator } from './compare/load/run-load-generator.js';
import type { Operation } from './compare/options.js';
import type { PointResult } from './compare/results.js';

const { values: flags } = parseArgs({
  options: {
    ops: { type: 'string', default: 'put,get' },
    concurrency: { type: 'string', default: '256' },
    duration: { type: 'string', default: '8s' },
    warmup: { type: 'string', default: '2s' },
    shards: { type: 'string', default: '3' },
    keys: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '1' },
    idle: { type: 'string', default: '3s' },
    'cpu-prof': { type: 'string' },
  },
});

const PROFILER_PRELOAD = fileURLToPath(new URL('./cpu-profile-on-signal.mjs', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
const ms = (name: string, text: string): number => {
  const v = parseDurationMs(text);
  if (v === undefined) throw new Error(`--${name}: not a duration: ${text}`);
  return v;
};

/** Each process's role (node-0, coordinator, client), by pid, for naming its profile. */
const roleOfPid = new Map<number, string>();
/** The measured points in order, naming the profiles (<pid>-<n>: the n-th point of a run). */
let pointNames: string[] = [];
const operations = flags.ops.split(',') as Operation[];
const concurrencies = flags.concurrency.split(',').map(Number);
const shards = Number(flags.shards);
const profileDir = flags['cpu-prof'] === undefined ? undefined : resolve(flags['cpu-prof']);
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
if (!buildIsFresh()) log('cpu-per-op: the compiled build is stale or missing, processes run the sources through tsx (run `npm run build` first)');

for (let run = 0; run < Number(flags.runs); run++) await oneRun();
process.exit(0);

async function oneRun(): Promise<void> {
  pointNames = [];
  const dir = mkdtempSync(join(tmpdir(), 'oxia-ts-cpu-per-op-'));
  // Children inherit NODE_OPTIONS: every process of the run profiles on SIGUSR2 (Node refuses
  // --cpu-prof in NODE_OPTIONS).
  const savedNodeOptions = process.env.NODE_OPTIONS;
  const profileTmp = profileDir === undefined ? undefined : mkdtempSync(join(profileDir, 'run-'));
  if (profileTmp !== undefined) {
    process.env.NODE_OPTIONS = `${savedNodeOptions ?? ''} --import ${pathToFileURL(PROFILER_PRELOAD).href}`.trim();
    process.env.OXIA_BENCH_PROFILE_DIR = profileTmp;
  }
  let cluster: RunningDevCluster | undefined;
  try {
    cluster = await startDevCluster({
      dir,
      nodes: 3,
      shards,
      replicationFactor: 3,
      basePort: 0,
      kv: 'sqlite',
      logLevel: 'info',
      startTimeoutMs: 90_000,
      stopTimeoutMs: 15_000,
    });
    const roles = new Map<number, string>();
    for (const p of [...cluster.nodes, cluster.coordinator]) if (p.pid !== undefined) roles.set(p.pid, p.name);
    const addressOf = new Map(cluster.nodes.map((n) => [String(n.serving.publicAddress), n.name]));
    const plan: LoadPlan = {
      system: 'oxia-ts',
      endpoints: [cluster.clientAddress],
      keys: Number(flags.keys),
      valueSizeBytes: 128,
      operations,
      concurrencies,
      warmupMs: ms('warmup', flags.warmup),
      durationMs: ms('duration', flags.duration),
    };
    // The servers' CPU without load (health checks, leases, metrics), per second: at a low
    // rate on a busy machine it is a large part of their CPU per op, and is subtracted.
    const idleMs = ms('idle', flags.idle);
    const idleFrom = new Map([...roles.keys()].map((pid) => [pid, processCpuSeconds(pid)]));
    const idleStart = performance.now();
    await new Promise((r) => setTimeout(r, idleMs));
    const idleSeconds = (performance.now() - idleStart) / 1000;
    const idlePerSecond = new Map([...roles.keys()].map((pid) => [pid, (processCpuSeconds(pid) - idleFrom.get(pid)!) / idleSeconds]));
    await runGenerator(plan, roles, idlePerSecond, () => leadersByNode(join(dir, 'cluster-status.json'), addressOf));
  } finally {
    await cluster?.stop();
    if (profileTmp !== undefined) {
      process.env.NODE_OPTIONS = savedNodeOptions;
      if (savedNodeOptions === undefined) delete process.env.NODE_OPTIONS;
      delete process.env.OXIA_BENCH_PROFILE_DIR;
      nameProfiles(profileTmp);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Renames each profile after its point and its process's role (node-0, coordinator, client) and moves it up. */
function nameProfiles(from: string): void {
  for (const f of readdirSync(from)) {
    const [pid, n] = f.replace('.cpuprofile', '').split('-').map(Number) as [number, number];
    const role = roleOfPid.get(pid) ?? `pid-${pid}`;
    renameSync(join(from, f), join(profileDir!, `${pointNames[n - 1] ?? `point${n}`}-${role}-${pid}.cpuprofile`));
  }
  rmSync(from, { recursive: true, force: true });
}

/** Starts or stops the profile of every process (cpu-profile-on-signal.mjs). */
function toggleProfiles(pids: Iterable<number>): void {
  if (profileDir === undefined) return;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGUSR2');
    } catch {
      // gone
    }
  }
}

function runGenerator(plan: LoadPlan, roles: Map<number, string>, idlePerSecond: Map<number, number>, leaders: () => Map<string, number>): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawnLoadGenerator(plan);
    if (child.pid !== undefined) roles.set(child.pid, 'client');
    for (const [pid, role] of roles) roleOfPid.set(pid, role);
    let before = new Map<number, number>();
    let measuringSince = 0;
    const sample = () => new Map([...roles.keys()].map((pid) => [pid, processCpuSeconds(pid)]));
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message: { type?: string; point?: PointResult };
      try {
        message = JSON.parse(line) as typeof message;
      } catch {
        log(`load generator: ${line}`);
        return;
      }
      if (message.type === 'measuring') {
        before = sample();
        measuringSince = performance.now();
        toggleProfiles(roles.keys());
      }
      if (message.type === 'point' && message.point !== undefined) {
        const after = sample();
        toggleProfiles(roles.keys());
        const p = message.point;
        pointNames.push(`${p.operation}-x${p.concurrency}`);
        const led = leaders();
        const seconds = (performance.now() - measuringSince) / 1000;
        const parts: string[] = [];
        let servers = 0;
        let serversNet = 0;
        for (const [pid, role] of roles) {
          const cpu = (after.get(pid) ?? 0) - (before.get(pid) ?? 0);
          const us = (cpu / p.ops) * 1e6;
          // The client has no idle work of its own to subtract (it is started with the load).
          const net = role === 'client' ? us : ((cpu - (idlePerSecond.get(pid) ?? 0) * seconds) / p.ops) * 1e6;
          if (role !== 'client') {
            servers += us;
            serversNet += net;
          }
          parts.push(`${role}${led.has(role) ? ` (leads ${led.get(role)})` : ''} ${us.toFixed(1)}${role === 'client' ? '' : ` (net ${net.toFixed(1)})`}`);
        }
        process.stdout.write(
          `${p.operation} x${p.concurrency}: ${Math.round(p.opsPerSec)} ops/s, p50 ${p.p50Ms} ms; CPU us/op: ${parts.join(', ')}; servers ${servers.toFixed(1)} (net ${serversNet.toFixed(1)}); load ${loadavg()[0]!.toFixed(1)}\n`,
        );
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolvePromise() : reject(new Error(`load generator ended with ${code ?? signal}`))));
  });
}

/** Shards led per node name, from the coordinator's status file (empty when unreadable). */
function leadersByNode(statusPath: string, nodeOfAddress: Map<string, string>): Map<string, number> {
  const counts = new Map<string, number>();
  try {
    const text = readFileSync(statusPath, 'utf8');
    // Any "leader": {"public": "<address>"} object, whatever nests it.
    for (const m of text.matchAll(/"leader"\s*:\s*\{[^}]*?"public(?:Address)?"\s*:\s*"([^"]+)"/g)) {
      const node = nodeOfAddress.get(m[1]!);
      if (node !== undefined) counts.set(node, (counts.get(node) ?? 0) + 1);
    }
  } catch {
    // no status yet
  }
  return counts;
}
