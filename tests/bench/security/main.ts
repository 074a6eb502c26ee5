/**
 * `npm run bench -- --security`: what TLS and OIDC tokens cost. The same closed-loop puts and
 * gets as --compare (its load generator, in a process of its own) against `oxia-ts standalone`
 * in plaintext, over TLS, and over TLS with a bearer token on every call, one setup at a time,
 * each against a fresh server, in rounds; the ratios to plaintext of the same session. Writes
 * results.json and results.md into <out>/<timestamp>-security/ and prints the tables.
 * Flags: see SECURITY_USAGE in options.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { ConfigError } from '../../../src/bootstrap/config/option-table.js';
import { startStandalone } from '../../support/standalone.js';
import { runLoadGenerator } from '../compare/load/run-load-generator.js';
import { machineInfo } from '../compare/machine.js';
import { killAllChildren } from '../compare/processes.js';
import { parseSecurityArgs, SECURITY_USAGE, SETUP_LABELS, type SecurityOptions } from './options.js';
import { renderSecurityMarkdown, renderSecurityTables, type SecurityPoint, type SecurityReport } from './report.js';
import { makeSetups } from './setups.js';

const log = (line: string) => process.stderr.write(`${line}\n`);

if (process.argv.includes('--help')) {
  process.stdout.write(`${SECURITY_USAGE}\n`);
  process.exit(0);
}
let options: SecurityOptions;
try {
  options = parseSecurityArgs(process.argv.slice(2));
} catch (e) {
  if (!(e instanceof ConfigError)) throw e;
  log(`bench --security: ${e.problems.join('; ')}\n\n${SECURITY_USAGE}`);
  process.exit(2);
}

const dir = mkdtempSync(join(tmpdir(), 'oxia-ts-security-bench-'));
process.on('exit', () => {
  killAllChildren();
  rmSync(dir, { recursive: true, force: true });
});
const cleanups = new Set<() => Promise<void>>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // The servers are killed by their launcher's exit hook, the load generator by killAllChildren.
  process.on(signal, () => {
    log(`\n${signal}: stopping ...`);
    process.exit(130);
  });
}

const machineStart = machineInfo(loadavg()[0] ?? 0);
const resultsDir = resolve(options.outDir, `${machineStart.date.replace(/[:.]/g, '-')}-security`);
mkdirSync(resultsDir, { recursive: true });
const setups = await makeSetups(dir, options.setups);
log(
  `bench --security: ${options.setups.map((s) => SETUP_LABELS[s]).join(', ')}; ${options.operations.join(' and ')} at ${options.concurrencies.join(', ')} callers; ` +
    `${options.rounds} round(s); ${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s per point; results in ${relative(process.cwd(), resultsDir) || '.'}`,
);

const points: SecurityPoint[] = [];
for (let round = 1; round <= options.rounds; round++) {
  for (const setup of setups) {
    const label = `${setup.name}, round ${round}`;
    const server = await startStandalone({ shards: options.shards, extraArgs: setup.serverArgs });
    log(`[${label}] oxia-ts standalone --shards ${options.shards} ${setup.serverArgs.join(' ')} at ${server.address}`);
    try {
      await runLoadGenerator(
        {
          system: 'oxia-ts',
          label,
          endpoints: [server.address],
          keys: options.keys,
          valueSizeBytes: options.valueSizeBytes,
          operations: options.operations,
          concurrencies: options.concurrencies,
          warmupMs: options.warmupMs,
          durationMs: options.durationMs,
          oxia: setup.connection,
        },
        server.pid === undefined ? [] : [server.pid],
        (p) => points.push({ ...p, setup: setup.name, round }),
        cleanups,
      );
    } finally {
      await server.stop();
    }
  }
}

const report: SecurityReport = {
  machine: { ...machineStart, loadAverageEnd: loadavg()[0] ?? 0 },
  workload: {
    shards: options.shards,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    rounds: options.rounds,
    keys: options.keys,
    valueSizeBytes: options.valueSizeBytes,
    concurrencies: options.concurrencies,
    operations: options.operations,
  },
  setups: setups.map((s) => ({ name: s.name, settings: s.settings })),
  points,
};
writeFileSync(join(resultsDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(join(resultsDir, 'results.md'), renderSecurityMarkdown(report));
process.stdout.write(`\n${renderSecurityTables(report)}\n\nresults: ${join(relative(process.cwd(), resultsDir), 'results.md')}\n`);
process.exit(points.some((p) => p.failed > 0) ? 1 : 0);
