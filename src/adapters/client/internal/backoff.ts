import { backoffDelayMs, type BackoffPolicy } from '../../../domain/coordinator/backoff.js';

/**
 * Exponential backoff with jitter for reconnect loops and retries: the delays double from
 * `initialMs` up to `maxMs`, each randomised by ±20 % so that the retries of many clients
 * after a common failure (a leader change, a restart) spread out. The delay itself is the
 * domain's backoffDelayMs, the one backoff formula the project has; this only counts attempts.
 */
export class Backoff {
  private readonly policy: BackoffPolicy;
  private attempt = 0;
  constructor(
    initialMs = 50,
    maxMs = 2000,
    private readonly random: () => number = Math.random,
  ) {
    this.policy = { initialMs, multiplier: 2, maxMs, jitter: 0.2 };
  }

  /** The delay before the next attempt; each call doubles the following one, up to the maximum. */
  next(): number {
    return backoffDelayMs(this.policy, this.attempt++, this.random());
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
