/**
 * Bounds the operations (and their key+value bytes) that are queued in batches or in
 * flight. A call beyond the bound waits, first come first served, until earlier ones
 * finish: a producer faster than the servers is slowed down instead of filling memory.
 * One operation larger than the byte bound is still admitted, alone.
 */
export class Admission {
  private count = 0;
  private bytes = 0;
  private readonly waiters: { sizeBytes: number; grant: () => void }[] = [];

  constructor(
    readonly maxCount: number,
    readonly maxBytes: number,
  ) {}

  get pendingCount(): number {
    return this.count;
  }
  get waitingCount(): number {
    return this.waiters.length;
  }

  /** Takes a slot now if one is free and nobody waits (keeps FIFO order); else returns false. */
  tryAcquire(sizeBytes: number): boolean {
    if (this.waiters.length > 0 || !this.fits(sizeBytes)) return false;
    this.count++;
    this.bytes += sizeBytes;
    return true;
  }

  /** Waits for a slot; rejects when `signal` aborts first. */
  acquire(sizeBytes: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire(sizeBytes)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        sizeBytes,
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal.reason);
        this.grantWaiters();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(sizeBytes: number): void {
    this.count--;
    this.bytes -= sizeBytes;
    this.grantWaiters();
  }

  private fits(sizeBytes: number): boolean {
    if (this.count >= this.maxCount) return false;
    return this.count === 0 || this.bytes + sizeBytes <= this.maxBytes;
  }

  private grantWaiters(): void {
    for (let w = this.waiters[0]; w !== undefined && this.fits(w.sizeBytes); w = this.waiters[0]) {
      this.waiters.shift();
      this.count++;
      this.bytes += w.sizeBytes;
      w.grant();
    }
  }
}
