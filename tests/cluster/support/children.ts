import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** A child Node process running a TypeScript file, its stdout collected line by line. */
export interface Child {
  readonly process: ChildProcess;
  readonly lines: string[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

const running = new Set<ChildProcess>();

export function spawnTs(file: string, args: readonly string[]): Child {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  const lines: string[] = [];
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    const parts = (partial + d).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    if (err.length < 100_000) err += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  return { process: child, lines, exited, stderr: () => err };
}

/** Kills every child still running (call from finally / after hooks, so a failing test leaves none). */
export function killAllChildren(): void {
  for (const c of running) c.kill('SIGKILL');
}
process.on('exit', killAllChildren);
