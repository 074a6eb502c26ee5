// Runs the real `oxia-ts server` (a storage node) as a child process for end-to-end
// tests: public, internal and metrics ports 0 (never fixed ports), the addresses read
// from the one "serving" log line, data in a temp dir. Every child still alive when the
// test process exits is killed, and temp dirs this helper made are removed, also when a
// test fails.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchForTest, servingAddress, stopStrictly } from './role-launch.js';

const STOP_TIMEOUT_MS = 30_000;
/** Bound on the log lines kept per process. */
const LOG_LINES_MAX = 20_000;

export interface StartStorageNodeOptions {
  kv?: 'sqlite' | 'level';
  /** Root for db/ and wal/; a fresh temp dir (removed at exit) when absent. */
  dataDir?: string;
  /** More flags, e.g. ['--wal-segment-size-bytes', '4096']; later flags win. */
  extraArgs?: readonly string[];
}

export interface StorageNodeProcess {
  /** host:port of the client API. Kept across restarts. */
  readonly publicAddress: string;
  /** host:port of OxiaCoordination and OxiaLogReplication: the node's name in the protocol. */
  readonly internalAddress: string;
  readonly metricsAddress: string;
  /** Root of db/ and wal/. */
  readonly dataDir: string;
  readonly pid: number | undefined;
  readonly running: boolean;
  /** Log lines (stdout and stderr) of every run of this node, oldest first. */
  logs(): readonly string[];
  /** SIGTERM, then waits for exit; resolves with the exit code (null when killed by a signal). */
  stop(): Promise<number | null>;
  /** SIGKILL, then waits for exit: a crash. */
  kill9(): Promise<void>;
  /** Starts again on the same data and the same ports (peers and clients find it again). */
  restart(): Promise<void>;
}

const ownedDirs = new Set<string>();
process.on('exit', () => {
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
});

export async function startStorageNode(options: StartStorageNodeOptions = {}): Promise<StorageNodeProcess> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'oxia-node-'));
  if (options.dataDir === undefined) ownedDirs.add(dataDir);
  const baseArgs = [
    '--kv', options.kv ?? 'sqlite',
    '--data-dir', join(dataDir, 'db'),
    '--wal-dir', join(dataDir, 'wal'),
    '--metrics-addr', '127.0.0.1:0',
    '--public-addr', '127.0.0.1:0',
    '--internal-addr', '127.0.0.1:0',
    ...(options.extraArgs ?? []),
  ];
  const launch = (args: readonly string[]) => launchForTest('server', args, LOG_LINES_MAX);
  let running = await launch(baseArgs);
  /** Output of the runs before the current one (logs() spans every run). */
  const earlier: string[] = [];
  const lines = (): readonly string[] => [...earlier, ...running.lines()].slice(-LOG_LINES_MAX);
  // Restarts reuse the first run's ports: the node's internal address is its name.
  const publicAddress = servingAddress(running, 'publicAddress');
  const internalAddress = servingAddress(running, 'internalAddress');
  let alive = true;

  return {
    publicAddress,
    internalAddress,
    get metricsAddress() {
      return servingAddress(running, 'metricsAddress');
    },
    dataDir,
    get pid() {
      return running.pid;
    },
    get running() {
      return alive;
    },
    logs: lines,
    async stop() {
      if (!alive) return (await running.exited).code;
      alive = false;
      return (await stopStrictly(running, 'SIGTERM', STOP_TIMEOUT_MS, lines)).code;
    },
    async kill9() {
      alive = false;
      await running.kill9();
    },
    async restart() {
      if (alive) {
        alive = false;
        await stopStrictly(running, 'SIGTERM', STOP_TIMEOUT_MS, lines);
      }
      earlier.splice(0, earlier.length, ...lines());
      running = await launch([...baseArgs, '--public-addr', publicAddress, '--internal-addr', internalAddress]);
      alive = true;
    },
  };
}
