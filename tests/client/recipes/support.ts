// Contender child processes for the recipes' hand-over tests. Every child still alive
// when the test process exits is killed (also when a test fails).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../support/wait.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const fixture = fileURLToPath(new URL('./fixtures/contender.ts', import.meta.url));

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface Contender {
  /** The JSON events the child printed so far. */
  readonly events: { event: string; [k: string]: unknown }[];
  /** Waits (with a deadline) for the first event of this name. */
  waitFor(event: string, timeoutMs?: number): Promise<{ event: string; [k: string]: unknown }>;
  /** SIGKILL, then waits until the process is gone. */
  kill9(): Promise<void>;
}

/** Starts a process that acquires the lock (or campaigns) and holds it until killed. */
export function startContender(address: string, kind: 'lock' | 'election', name: string, sessionTimeoutMs: number, value = ''): Contender {
  const child = spawn(process.execPath, ['--import', 'tsx', fixture, address, kind, name, String(sessionTimeoutMs), value], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => live.delete(child));
  const events: { event: string; [k: string]: unknown }[] = [];
  let output = '';
  let rest = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) events.push(JSON.parse(line));
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-4000)));
  return {
    events,
    async waitFor(event, timeoutMs = 60_000) {
      await waitFor(() => events.some((e) => e.event === event) || child.exitCode !== null, `the contender's "${event}" event`, timeoutMs);
      const found = events.find((e) => e.event === event);
      if (found === undefined) throw new Error(`the contender exited (code ${child.exitCode}) before "${event}":\n${output}`);
      return found;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
