// The launching the test supports share: `oxia-ts <role>` as a child process through the same
// launchRole the dev cluster uses (started when it logs its "serving" line, killed if still
// alive when the test process exits), plus the strict stop tests want: a graceful stop that
// does not finish in time is a failure, not a quiet SIGKILL.
import { fileURLToPath } from 'node:url';
import { launchRole, type Exit, type RoleProcess } from '../../src/bootstrap/dev-cluster/role-process.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Starting may include tsx compiling the sources: generous, for a loaded 2-core machine. */
const START_TIMEOUT_MS = 60_000;

export function launchForTest(role: string, args: readonly string[], linesKeptMax: number, env?: Readonly<Record<string, string>>): Promise<RoleProcess> {
  return launchRole({ name: `oxia-ts ${role}`, args: [role, ...args], startTimeoutMs: START_TIMEOUT_MS, cwd: root, linesKeptMax, ...(env ? { env } : {}) });
}

/** A host:port field of the process's "serving" line. */
export function servingAddress(p: RoleProcess, field: string): string {
  const value = p.serving[field];
  if (typeof value !== 'string') throw new Error(`${p.name} logged "serving" without ${field}`);
  return value;
}

/** Sends `signal` and waits for the exit; throws (after a SIGKILL) when it takes longer than `timeoutMs`. */
export async function stopStrictly(p: RoleProcess, signal: NodeJS.Signals, timeoutMs: number, output: () => readonly string[]): Promise<Exit> {
  if (!p.running) return p.exited;
  p.signal(signal);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
  const result = await Promise.race([p.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    await p.kill9();
    throw new Error(`${p.name} did not exit within ${timeoutMs} ms of ${signal}\n--- output ---\n${output().slice(-200).join('\n')}`);
  }
  return result;
}
