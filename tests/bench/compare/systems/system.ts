/** What the comparison needs of each system: is it installed, how it is set up, start it. */
import type { SystemName } from '../options.js';
import { waitFor } from '../../../support/wait.js';
import type { ServerProcess } from '../processes.js';

export interface RunningSystem {
  /** What the load generator connects to: host:port of each member (oxia-ts: one node). */
  readonly endpoints: readonly string[];
  /** Version and shape, for the report: "etcd 3.4.23, 3 members". */
  readonly description: string;
  /** The system's server processes (for their CPU time). */
  readonly pids: readonly number[];
  /** Stops every process of the system; resolves once all have exited. Idempotent. */
  stop(): Promise<void>;
}

export interface SystemLauncher {
  readonly name: SystemName;
  /** The install command when the system is missing on this machine, else undefined. */
  missing(): string | undefined;
  /** The settings it runs with and why, one line each (they go into the report). */
  readonly settings: readonly string[];
  /** Starts 3 members on loopback, data and logs (*.log) under `dir`; resolves once they serve. */
  start(dir: string): Promise<RunningSystem>;
}

/** How long members get to form a cluster; JVMs and elections on a loaded 2-core machine are slow. */
export const START_TIMEOUT_MS = 90_000;
export const STOP_TIMEOUT_MS = 15_000;

/**
 * Waits until `ready` holds, failing at once (with the member's last output) when a member
 * exits first.
 */
export async function waitUntilServing(members: readonly ServerProcess[], ready: () => Promise<boolean>, what: string): Promise<void> {
  let done = false;
  const died = new Promise<never>((_, reject) => {
    for (const m of members) {
      void m.exited.then((exit) => {
        if (!done) reject(new Error(`${m.name} exited (code ${exit.code}, signal ${exit.signal}) before ${what}:\n${m.tail()}`));
      });
    }
  });
  died.catch(() => {});
  try {
    await Promise.race([waitFor(ready, what, START_TIMEOUT_MS, 200), died]);
  } finally {
    done = true;
  }
}

/** Stops members in parallel (SIGTERM, SIGKILL after the timeout). */
export async function stopAll(members: readonly ServerProcess[]): Promise<void> {
  await Promise.all(members.map((m) => m.stop(STOP_TIMEOUT_MS)));
}
