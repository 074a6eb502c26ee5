// Running the `oxia-ts` bin as a child process: one-shot commands (with a deadline) and
// long-running ones (followed until interrupted). Children still alive when the test
// process exits are killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { OXIA_TS_BIN } from '../support/standalone.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Includes tsx compiling the CLI on a loaded 2-core machine. */
const RUN_TIMEOUT_MS = 120_000;

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function spawnCli(args: readonly string[]): ChildProcess {
  const child = spawn(process.execPath, [OXIA_TS_BIN, ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Runs a command to its end; `input` goes to its standard input (closed either way). */
export function runCli(args: readonly string[], options: { input?: Buffer | string; timeoutMs?: number } = {}): Promise<CliResult> {
  const child = spawnCli(args);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin!.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`oxia-ts ${args.join(' ')} did not end within ${options.timeoutMs ?? RUN_TIMEOUT_MS} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? RUN_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface RunningCli {
  /** Everything printed on standard output so far. */
  stdout(): string;
  stderr(): string;
  /** Sends the signal and resolves with the exit code (SIGKILL after a deadline). */
  interrupt(signal: 'SIGINT' | 'SIGTERM'): Promise<number | null>;
  /** Resolves with the exit code once the command ended on its own. */
  exited(): Promise<number | null>;
}

/** Starts a command that runs until interrupted (notifications, put --ephemeral, perf), or one to follow while it runs. */
export function startCli(args: readonly string[]): RunningCli {
  const child = spawnCli(args);
  child.stdin!.end();
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    exited: () => closed,
    async interrupt(signal) {
      if (child.exitCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        return await closed;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
