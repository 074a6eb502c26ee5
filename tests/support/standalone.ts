// Runs the real `oxia-ts standalone` as a child process for end-to-end tests: public
// and metrics ports 0 (never fixed ports), the addresses read from the one "serving"
// log line, data in a temp dir. Every child still alive when the test process exits is
// killed, and temp dirs this helper made are removed, also when a test fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchForTest, servingAddress, stopStrictly } from './role-launch.js';

export { OXIA_TS_BIN } from '../../src/bootstrap/dev-cluster/role-process.js';

const STOP_TIMEOUT_MS = 30_000;
/** Bound on the log lines kept per process. */
const LOG_LINES_MAX = 5_000;

export interface StartStandaloneOptions {
  shards?: number;
  kv?: 'sqlite' | 'level';
  /** Root for db/ and wal/; a fresh temp dir (removed at exit) when absent. */
  dataDir?: string;
  /** More flags, e.g. ['--no-notifications-enabled', '--key-sorting', 'natural']. */
  extraArgs?: readonly string[];
  /** Added to the process's environment, e.g. NODE_EXTRA_CA_CERTS. */
  env?: Readonly<Record<string, string>>;
}

export interface StandaloneProcess {
  /** host:port clients dial; also the leader in shard assignments. Changes on restart({ samePort: false }). */
  readonly address: string;
  readonly metricsAddress: string;
  /** Root of db/ and wal/. */
  readonly dataDir: string;
  readonly pid: number | undefined;
  /** Log lines (stdout and stderr) of the current process, oldest first. */
  logs(): readonly string[];
  /** SIGTERM (or SIGINT), then waits for exit; resolves with the exit code (null when killed by a signal). */
  stop(signal?: 'SIGTERM' | 'SIGINT'): Promise<number | null>;
  /** SIGKILL, then waits for exit: a crash, for recovery tests. */
  kill9(): Promise<void>;
  /** Starts again on the same data (and by default the same port, so clients can reconnect). */
  restart(options?: { samePort?: boolean }): Promise<void>;
}

const ownedDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
});

export async function startStandalone(options: StartStandaloneOptions = {}): Promise<StandaloneProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'oxia-standalone-'));
  if (options.dataDir === undefined) ownedDirs.add(dataDir);
  const baseArgs = [
    '--shards', String(options.shards ?? 1),
    '--kv', options.kv ?? 'sqlite',
    '--data-dir', join(dataDir, 'db'),
    '--wal-dir', join(dataDir, 'wal'),
    '--metrics-addr', '127.0.0.1:0',
    '--public-addr', '127.0.0.1:0',
    ...(options.extraArgs ?? []), // later flags win: extraArgs may override the above
  ];
  const launch = (args: readonly string[]) => launchForTest('standalone', args, LOG_LINES_MAX, options.env);
  let running = await launch(baseArgs);
  let stopped = false;

  return {
    get address() {
      return servingAddress(running, 'publicAddress');
    },
    get metricsAddress() {
      return servingAddress(running, 'metricsAddress');
    },
    dataDir,
    get pid() {
      return running.pid;
    },
    logs: () => running.lines(),
    async stop(signal = 'SIGTERM') {
      if (stopped) return (await running.exited).code;
      stopped = true;
      return (await stopStrictly(running, signal, STOP_TIMEOUT_MS, running.lines)).code;
    },
    async kill9() {
      stopped = true;
      await running.kill9();
    },
    async restart({ samePort = true } = {}) {
      if (!stopped) await stopStrictly(running, 'SIGTERM', STOP_TIMEOUT_MS, running.lines);
      const address = servingAddress(running, 'publicAddress');
      const host = address.slice(0, address.lastIndexOf(':'));
      const port = samePort ? address.slice(address.lastIndexOf(':') + 1) : '0';
      running = await launch([...baseArgs, '--public-addr', `${host}:${port}`]);
      stopped = false;
    },
  };
}
