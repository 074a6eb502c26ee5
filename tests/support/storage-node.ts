// Runs the real `oxia-ts server` (a storage node) as a child process for end-to-end
// tests: public, internal and metrics ports 0 (never fixed ports), the addresses read
// from the one "serving" log line, data in a temp dir. Every child still alive when the
// test process exits is killed, and temp dirs this helper made are removed, also when a
// test fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const OXIA_TS_BIN = join(root, 'src/bootstrap/cli/oxia-ts.mjs');

/** Starting includes tsx compiling the sources: generous, for a loaded 2-core machine. */
const START_TIMEOUT_MS = 60_000;
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
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  publicAddress: string;
  internalAddress: string;
  metricsAddress: string;
}

function launch(args: readonly string[], lines: string[]): Promise<Running> {
  const child = spawn(process.execPath, [OXIA_TS_BIN, 'server', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORCE_COLOR: '0' },
  });
  live.add(child);
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
      reject(new Error(`oxia-ts server ${why}\n--- output ---\n${lines.slice(-200).join('\n')}`));
    };
    const timer = setTimeout(() => fail(`printed no "serving" line within ${START_TIMEOUT_MS} ms`), START_TIMEOUT_MS);
    const onLine = (line: string): void => {
      lines.push(line);
      if (lines.length > LOG_LINES_MAX) lines.splice(0, lines.length - LOG_LINES_MAX);
      if (settled || !line.startsWith('{')) return;
      let entry: { msg?: unknown; publicAddress?: unknown; internalAddress?: unknown; metricsAddress?: unknown };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (
        entry.msg === 'serving' &&
        typeof entry.publicAddress === 'string' &&
        typeof entry.internalAddress === 'string' &&
        typeof entry.metricsAddress === 'string'
      ) {
        settled = true;
        clearTimeout(timer);
        resolve({ child, exited, publicAddress: entry.publicAddress, internalAddress: entry.internalAddress, metricsAddress: entry.metricsAddress });
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

async function waitExit(running: Running, lines: readonly string[], timeoutMs: number): Promise<{ code: number | null }> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const result = await Promise.race([running.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    running.child.kill('SIGKILL');
    await running.exited;
    throw new Error(`oxia-ts server did not exit within ${timeoutMs} ms of SIGTERM\n--- output ---\n${lines.slice(-200).join('\n')}`);
  }
  return result;
}

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
  const lines: string[] = [];
  let running = await launch(baseArgs, lines);
  // Restarts reuse the first run's ports: the node's internal address is its name.
  const publicAddress = running.publicAddress;
  const internalAddress = running.internalAddress;
  let alive = true;

  return {
    publicAddress,
    internalAddress,
    get metricsAddress() {
      return running.metricsAddress;
    },
    dataDir,
    get pid() {
      return running.child.pid;
    },
    get running() {
      return alive;
    },
    logs: () => lines,
    async stop() {
      if (!alive) return (await running.exited).code;
      alive = false;
      running.child.kill('SIGTERM');
      return (await waitExit(running, lines, STOP_TIMEOUT_MS)).code;
    },
    async kill9() {
      alive = false;
      running.child.kill('SIGKILL');
      await running.exited;
    },
    async restart() {
      if (alive) {
        alive = false;
        running.child.kill('SIGTERM');
        await waitExit(running, lines, STOP_TIMEOUT_MS);
      }
      running = await launch([...baseArgs, '--public-addr', publicAddress, '--internal-addr', internalAddress], lines);
      alive = true;
    },
  };
}
