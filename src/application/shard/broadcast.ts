/**
 * Wakes everyone waiting for "something changed" (a new commit, new assignments).
 * Waiters re-check their own condition after waking, so a wake is never lost and
 * spurious wakes are harmless. The waiter list is bounded by the number of open
 * streams, each of which holds at most one wait at a time.
 */
export class Broadcast {
  private waiters: Array<() => void> = [];

  notify(): void {
    const woken = this.waiters;
    this.waiters = [];
    for (const wake of woken) wake();
  }

  /** Resolves on the next notify(), or when `signal` aborts (check signal.aborted after). */
  wait(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
