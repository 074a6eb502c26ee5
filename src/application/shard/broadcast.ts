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

  /**
   * Calls `wake` once, on the next notify(), unless the returned function is called
   * first (which removes it). Lets a waiter listen to several broadcasts without an
   * AbortController per wait: aborting one costs a DOMException, on a hot path.
   */
  subscribe(wake: () => void): () => void {
    this.waiters.push(wake);
    return () => {
      const i = this.waiters.indexOf(wake);
      if (i >= 0) this.waiters.splice(i, 1);
    };
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
