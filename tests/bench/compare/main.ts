/**
 * `npm run bench -- --compare`: the same closed-loop workload against a 3-member etcd cluster,
 * a 3-member ZooKeeper ensemble and a 3-node oxia-ts cluster, one system at a time (only its
 * own processes run during its turn), each from a fresh temp dir that is removed afterwards.
 * The load runs in a separate process per turn (load/load-generator.ts). A system that is not
 * installed is skipped with the command that installs it. Writes results.json, results.md and
 * chart.svg into <out>/<timestamp>/ with the servers' logs under logs/, and prints the tables.
 * Flags: see COMPARE_USAGE in options.ts.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ConfigError } from '../../../src/bootstrap/config/option-table.js';
import { renderChart } from './chart.js';
import { runLoadGenerator } from './load/run-load-generator.js';
import { machineInfo } from './machine.js';
import { COMPARE_USAGE, parseCompareArgs, type CompareOptions, type SystemName } from './options.js';
import { killAllChildren } from './processes.js';
import { medianPoints, SYSTEM_LABELS, type CompareReport, type PointResult, type SystemTurn } from './results.js';
import { etcdLauncher } from './systems/etcd.js';
import { oxiaLauncher } from './systems/oxia-ts.js';
import type { SystemLauncher } from './systems/system.js';
import { zookeeperLauncher } from './systems/zookeeper.js';
import { renderMarkdown, renderTables } from './table.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

if (process.argv.includes('--help')) {
  process.stdout.write(`${COMPARE_USAGE}\n`);
  process.exit(0);
}
let options: CompareOptions;
try {
  options = parseCompareArgs(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  log(`bench --compare: ${e.problems.join('; ')}\n\n${COMPARE_USAGE}`);
  process.exit(2);
}

const launchers: Readonly<Record<SystemName, SystemLauncher>> = {
  etcd: etcdLauncher,
  zookeeper: zookeeperLauncher,
  'oxia-ts': oxiaLauncher(options.oxiaShards),
};

/** What must be undone when the bench ends early: the running system, its temp dir. */
const cleanups = new Set<() => Promise<void>>();
const tempDirs = new Set<string>();
process.on('exit', () => {
  killAllChildren();
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) process.exit(130); // a second Ctrl-C: no more waiting (the exit hooks still kill)
    interrupted = true;
    log(`\n${signal}: stopping the servers ...`);
    const deadline = new Promise((r) => setTimeout(r, 20_000).unref());
    void Promise.race([Promise.allSettled([...cleanups].map((c) => c())), deadline]).then(() => process.exit(130));
  });
}

const machineStart = machineInfo(loadavg()[0] ?? 0);
const resultsDir = resolve(options.outDir, machineStart.date.replace(/[:.]/g, '-'));
mkdirSync(resultsDir, { recursive: true });
log(
  `bench --compare: ${options.systems.join(', ')}; ${options.operations.join(' and ')} at ${options.concurrencies.join(', ')} callers; ` +
    `${options.startWarmupMs / 1000} s start warm-up; ${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s per point${options.rounds > 1 ? `, ${options.rounds} alternating rounds` : ''}; ${options.keys} keys, ${options.valueSizeBytes} B values; results in ${relative(process.cwd(), resultsDir) || '.'}`,
);

const turnsBySystem = new Map<SystemName, SystemTurn>();
const points: PointResult[] = [];
for (let round = 1; round <= options.rounds && !interrupted; round++) {
  if (options.rounds > 1) log(`round ${round} of ${options.rounds}`);
  for (const name of options.systems) {
    if (interrupted) break;
    // A system skipped (not installed) or failed once sits out the later rounds.
    const earlier = turnsBySystem.get(name);
    if (earlier !== undefined && earlier.status !== 'ran') continue;
    const turn = await runTurn(launchers[name], (p) => points.push(options.rounds > 1 ? { ...p, round } : p));
    turnsBySystem.set(name, turn);
  }
}
if (interrupted) await new Promise(() => {}); // the signal handler exits
const turns = options.systems.flatMap((name) => turnsBySystem.get(name) ?? []);

const report: CompareReport = {
  machine: { ...machineStart, loadAverageEnd: loadavg()[0] ?? 0 },
  workload: {
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    startWarmupMs: options.startWarmupMs,
    keys: options.keys,
    valueSizeBytes: options.valueSizeBytes,
    concurrencies: options.concurrencies,
    operations: options.operations,
    rounds: options.rounds,
  },
  turns,
  points: options.rounds > 1 ? medianPoints(points) : points,
  roundPoints: options.rounds > 1 ? points : undefined,
};
writeFileSync(join(resultsDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(resultsDir, 'chart.svg'), renderChart(report));
writeFileSync(join(resultsDir, 'results.md'), renderMarkdown(report, 'chart.svg'));
process.stdout.write(`\n${renderTables(report)}\n\n`);
for (const t of turns) if (t.status !== 'ran') process.stdout.write(`${SYSTEM_LABELS[t.system]} ${t.status}: ${t.detail}\n`);
process.stdout.write(`results: ${join(relative(process.cwd(), resultsDir), 'results.md')} and chart.svg (p50 / p99 / p99.9 latencies in ms)\n`);
process.exit(turns.some((t) => t.status === 'failed') ? 1 : 0);

/** One system's turn: start it, run the load generator against it, stop it, keep its logs. */
async function runTurn(launcher: SystemLauncher, onPoint: (p: PointResult) => void): Promise<SystemTurn> {
  const label = SYSTEM_LABELS[launcher.name];
  const install = launcher.missing();
  if (install !== undefined) {
    log(`${label}: not installed, skipped. To include it: ${install}`);
    return { system: launcher.name, status: 'skipped', detail: `not installed on this machine (\`${install}\`)`, settings: launcher.settings };
  }
  const dir = mkdtempSync(join(tmpdir(), `oxia-ts-compare-${launcher.name}-`));
  tempDirs.add(dir);
  let stop: (() => Promise<void>) | undefined;
  const finish = async (): Promise<void> => {
    await stop?.();
    copyLogs(dir, join(resultsDir, 'logs', launcher.name));
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  };
  let finishing: Promise<void> | undefined;
  const cleanup = () => (finishing ??= finish());
  cleanups.add(cleanup);
  let description = label;
  try {
    log(`${label}: starting 3 members in ${dir} ...`);
    const started = Date.now();
    const system = await launcher.start(dir);
    stop = () => system.stop();
    description = system.description;
    log(`${label}: ${description} serving at ${system.endpoints.join(', ')} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await runLoadGenerator(
      {
        system: launcher.name,
        endpoints: system.endpoints,
        keys: options.keys,
        valueSizeBytes: options.valueSizeBytes,
        operations: options.operations,
        concurrencies: options.concurrencies,
        warmupMs: options.warmupMs,
        startWarmupMs: options.startWarmupMs,
        durationMs: options.durationMs,
      },
      system.pids,
      onPoint,
      cleanups,
    );
    return { system: launcher.name, status: 'ran', detail: description, settings: launcher.settings };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (!interrupted) log(`${label}: failed: ${message}`);
    return { system: launcher.name, status: 'failed', detail: `${description}: ${message.split('\n')[0]}`, settings: launcher.settings };
  } finally {
    log(`${label}: stopping ...`);
    await cleanup();
    cleanups.delete(cleanup);
  }
}

/** Copies the *.log files under `from` (any depth) to `to`, flattened. */
function copyLogs(from: string, to: string): void {
  if (!existsSync(from)) return;
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const p = join(dir, name);
      return statSync(p).isDirectory() ? walk(p) : name.endsWith('.log') ? [p] : [];
    });
  const logs = walk(from);
  if (logs.length === 0) return;
  mkdirSync(to, { recursive: true });
  for (const f of logs) cpSync(f, join(to, relative(from, f).replace(/[\\/]/g, '_')));
}
