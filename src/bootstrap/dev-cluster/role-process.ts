/**
 * One `oxia-ts <role>` child process (server or coordinator): started with the same Node and
 * CLI as this process, its output kept (last lines in memory, all of it in a log file when
 * asked), ready once it logs its one "serving" line, whose fields (bound addresses) it returns.
 * Used by `oxia-ts cluster` and by the cluster tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../package-root.js';

/** The package's CLI entry point (the bin, which picks the compiled build or the sources). */
export const OXIA_TS_BIN = join(packageRoot(), 'src', 'bootstrap', 'cli', 'oxia-ts.mjs');

/** Lines kept in memory per process by default (the log file keeps everything). */
const LINES_KEPT_MAX = 5_000;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** SIGTERM, then SIGKILL if `child` is still running after `timeoutMs`; resolves with its exit. */
export async function stopChild(child: ChildProcess, exited: Promise<Exit>, timeoutMs: number): Promise<Exit> {
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exit = await exited;
  clearTimeout(killer);
  return exit;
}

export interface RoleProcessOptions {
  /** For messages: node-0, coordinator, ... */
  readonly name: string;
  /** Arguments after the CLI: ['server', '--public-addr', ...]. */
  readonly args: readonly string[];
  /** Appends the process's stdout and stderr here. */
  readonly logFile?: string;
  /** How long to wait for the "serving" line (tsx compiles the sources at start: be generous). */
  readonly startTimeoutMs: number;
  readonly cwd?: string;
  /** Output lines kept in memory (default 5,000). */
  readonly linesKeptMax?: number;
  /** Added to this process's environment (e.g. NODE_EXTRA_CA_CERTS). */
  readonly env?: Readonly<Record<string, string>>;
}

export interface RoleProcess {
  readonly name: string;
  readonly pid: number | undefined;
  /** The fields of the "serving" line: publicAddress, internalAddress, metricsAddress, ... */
  readonly serving: Readonly<Record<string, unknown>>;
  readonly exited: Promise<Exit>;
  /** Whether the process has exited. */
  readonly running: boolean;
  /** The last output lines, oldest first. */
  lines(): readonly string[];
  /** SIGTERM, then SIGKILL after `timeoutMs`; resolves with how it ended. */
  stop(timeoutMs: number): Promise<Exit>;
  /** SIGKILL: a crash. */
  kill9(): Promise<Exit>;
  /** Sends `signal` if the process still runs (e.g. SIGINT, or SIGTERM without the SIGKILL fallback). */
  signal(signal: NodeJS.Signals): void;
}

/** Every child started here, so that an exiting parent never leaves one behind. */
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

export function launchRole(options: RoleProcessOptions): Promise<RoleProcess> {
  installExitHook();
  const child = spawn(process.execPath, [OXIA_TS_BIN, ...options.args], {
    cwd: options.cwd ?? process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env, FORCE_COLOR: '0' },
  });
  children.add(child);
  let running = true;
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      running = false;
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const log: WriteStream | undefined = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  void exited.then(() => log?.end());
  const lines: string[] = [];
  const linesKeptMax = options.linesKeptMax ?? LINES_KEPT_MAX;

  return new Promise<RoleProcess>((resolve, reject) => {
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${options.name} ${why}\n--- last output ---\n${lines.slice(-50).join('\n')}`));
    };
    const timer = setTimeout(() => fail(`logged no "serving" line within ${options.startTimeoutMs} ms`), options.startTimeoutMs);
    const onLine = (line: string): void => {
      lines.push(line);
      if (lines.length > linesKeptMax) lines.splice(0, lines.length - linesKeptMax);
      if (settled || !line.startsWith('{')) return;
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (entry.msg !== 'serving') return;
      settled = true;
      clearTimeout(timer);
      resolve(handle(entry));
    };
    const handle = (serving: Record<string, unknown>): RoleProcess => ({
      name: options.name,
      pid: child.pid,
      serving,
      exited,
      get running() {
        return running;
      },
      lines: () => lines,
      stop: async (timeoutMs) => (running ? stopChild(child, exited, timeoutMs) : exited),
      kill9: async () => {
        if (running) child.kill('SIGKILL');
        return exited;
      },
      signal: (signal) => {
        if (running) child.kill(signal);
      },
    });
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        log?.write(chunk);
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        for (const p of parts) if (p !== '') onLine(p);
      });
      stream.on('end', () => {
        if (rest !== '') onLine(rest);
      });
    }
    void exited.then(({ code, signal }) => fail(`exited before serving (code ${code}, signal ${signal})`));
  });
}
