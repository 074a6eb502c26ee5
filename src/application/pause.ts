import type { Clock } from './ports/clock.js';

/**
 * Waits between retries: resolves after `delayMs`, or as soon as `signal` aborts, or as soon as
 * someone calls one of the functions in `wakers` (a node the retry waits for came back, so
 * there is no point sleeping out the backoff). Never rejects: callers check their signal.
 */
export function pause(clock: Clock, delayMs: number, signal: AbortSignal, wakers?: Set<() => void>): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      cancel();
      signal.removeEventListener('abort', done);
      wakers?.delete(done);
      resolve();
    };
    const cancel = clock.schedule(delayMs, done);
    signal.addEventListener('abort', done, { once: true });
    wakers?.add(done);
  });
}
