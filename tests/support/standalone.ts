// Runs the real `oxia-ts standalone` as a child process for end-to-end tests: public
// and metrics ports 0 (never fixed ports), the addresses read from the one "serving"
// log line, data in a temp dir. Every child still alive when the test process exits is
// killed, and temp dirs this helper made are removed, also when a test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const OXIA_TS_BIN = join(root, 'src/bootstrap/cli/oxia-ts.mjs');

/** Starting includes tsx compiling the sources: generous, for a loaded 2-core machine. */
const START_TIMEOUT_MS = 60_000;
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

const live = new Set<ChildProcess>();
const ownedDirs = new Set<string>();
process.on('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const dir of ownedDirs) rmSync(dir, { recursive: true, force: true });
});

interface Running {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  address: string;
  metricsAddress: string;
}

function launch(args: readonly string[]): Promise<Running> {
  const child = spawn(process.execPath, [OXIA_TS_BIN, 'standalone', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  live.add(child);
  const lines: string[] = [];
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  return new Promise<Running>((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`oxia-ts standalone ${why}\n--- output ---\n${lines.join('\n')}`));
    };
    const timer = setTimeout(() => fail(`printed no "serving" line within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const onLine = (line: string): void => {
      lines.push(line);
      if (lines.length > LOG_LINES_MAX) lines.splice(0, lines.length - LOG_LINES_MAX);
      if (settled || !line.startsWith('{')) return;
      let entry: { msg?: unknown; publicAddress?: unknown; metricsAddress?: unknown };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg === 'serving' && typeof entry.publicAddress === 'string' && typeof entry.metricsAddress === 'string') {
        settled = true;
        clearTimeout(timer);
        resolve({ child, lines, exited, address: entry.publicAddress, metricsAddress: entry.metricsAddress });
      }
    };
    splitLines(child.stdout!, onLine);
    splitLines(child.stderr!, onLine);
    void exited.then(({ code, signal }) => fail(`exited before serving (code ${code}, signal ${signal})`));
  });
}

function splitLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (rest + chunk).split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) if (part !== '') onLine(part);
  });
  stream.on('end', () => {
    if (rest !== '') onLine(rest);
  });
}

async function waitExit(running: Running, timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const result = await Promise.race([running.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    running.child.kill('SIGKILL');
    await running.exited;
    throw new Error(`oxia-ts standalone did not exit within ${timeoutMs} ms of SIGTERM\n--- output ---\n${running.lines.join('\n')}`);
  }
  return result;
}

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
  let running = await launch(baseArgs);
  let stopped = false;

  return {
    get address() {
      return running.address;
    },
    get metricsAddress() {
      return running.metricsAddress;
    },
    dataDir,
    get pid() {
      return running.child.pid;
    },
    logs: () => running.lines,
    async stop(signal = 'SIGTERM') {
      if (stopped) return (await running.exited).code;
      stopped = true;
      running.child.kill(signal);
      return (await waitExit(running, STOP_TIMEOUT_MS)).code;
    },
    async kill9() {
      stopped = true;
      running.child.kill('SIGKILL');
      await running.exited;
    },
    async restart({ samePort = true } = {}) {
      if (!stopped) {
        running.child.kill('SIGTERM');
        await waitExit(running, STOP_TIMEOUT_MS);
      }
      const host = running.address.slice(0, running.address.lastIndexOf(':'));
      const port = samePort ? running.address.slice(running.address.lastIndexOf(':') + 1) : '0';
      running = await launch([...baseArgs, '--public-addr', `${host}:${port}`]);
      stopped = false;
    },
  };
}
