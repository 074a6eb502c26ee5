/**
 * Exponential backoff with jitter for reconnect loops and retries. Jitter spreads the
 * retries of many clients after a common failure (a leader change, a restart).
 */
export class Backoff {
  private nextMs: number;
  constructor(
    private readonly initialMs = 50,
    private readonly maxMs = 2000,
  ) {
    this.nextMs = initialMs;
  }

  /** The delay before the next attempt; each call doubles the following one, up to the maximum. */
  next(): number {
    const base = this.nextMs;
    this.nextMs = Math.min(this.nextMs * 2, this.maxMs);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  reset(): void {
    this.nextMs = this.initialMs;
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
