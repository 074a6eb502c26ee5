import { openClient, type OxiaClient } from '../../../src/adapters/client/oxia-client.js';
import { resolveOptions, type OxiaClientOptions } from '../../../src/adapters/client/options.js';
import type { FakeCluster } from './fake-transport.js';

export const silentLogger = { warn: () => {} };

/** A client whose transport is the in-process fake; discovery goes to `server-a:1`. */
export function clientOn(cluster: FakeCluster, options: OxiaClientOptions = {}): Promise<OxiaClient> {
  return openClient(cluster, resolveOptions('server-a:1', { logger: silentLogger, ...options }));
}

/** Waits until `condition` holds, polling; fails after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A promise with its resolve function, for holding a fake server's answers. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

/** Asserts that `fn` rejects with an error accepted by `check`; returns that error. */
export async function rejects(fn: () => Promise<unknown>, check: (e: unknown) => boolean, what = 'the call'): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    if (!check(e)) throw new Error(`${what} rejected with an unexpected error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    return e;
  }
  throw new Error(`${what} resolved, expected a rejection`);
}
