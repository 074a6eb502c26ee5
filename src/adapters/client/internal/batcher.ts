export interface BatchLimits {
  /** How long the first operation of a batch waits for company; 0 sends at once. */
  readonly lingerMs: number;
  readonly maxCount: number;
  readonly maxBytes: number;
  /** Batches sent but not yet answered, per shard. */
  readonly maxInFlight: number;
}

export interface BatchItem {
  readonly sizeBytes: number;
}

/** Decides whether an item may join the open batch (write ordering, see write-path.ts). */
export interface BatchCompatibility<T> {
  conflicts(item: T): boolean;
  added(item: T): void;
  reset(): void;
}

/**
 * Groups one shard's operations into batches. A batch is sent when it holds
 * `maxCount` operations or `maxBytes` bytes, or `lingerMs` after its first operation.
 * At most `maxInFlight` batches are outstanding; while that window is full the open
 * batch keeps growing (up to its limits) and full batches queue, so a slow server gets
 * fewer, larger batches. The queue is bounded by the client's admission control.
 *
 * `send` must settle every operation of the batch itself and never reject.
 */
export class Batcher<T extends BatchItem> {
  private open: T[] = [];
  private openBytes = 0;
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  private lingerExpired = false;
  private readonly full: T[][] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly limits: BatchLimits,
    private readonly send: (batch: T[]) => Promise<void>,
    private readonly compatibility?: BatchCompatibility<T>,
  ) {}

  get inFlightBatches(): number {
    return this.inFlight;
  }

  add(item: T): void {
    if (
      this.open.length > 0 &&
      (this.openBytes + item.sizeBytes > this.limits.maxBytes || this.compatibility?.conflicts(item) === true)
    ) {
      this.closeOpen();
    }
    this.open.push(item);
    this.openBytes += item.sizeBytes;
    this.compatibility?.added(item);
    if (this.open.length >= this.limits.maxCount || this.openBytes >= this.limits.maxBytes) {
      this.closeOpen();
    } else if (this.limits.lingerMs <= 0) {
      this.lingerExpired = true;
    } else if (this.lingerTimer === undefined) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        this.lingerExpired = true;
        this.pump();
      }, this.limits.lingerMs);
    }
    this.pump();
  }

  /** Sends everything now (ignoring linger) and resolves once all of it is answered. */
  flush(): Promise<void> {
    this.lingerExpired = this.open.length > 0 || this.lingerExpired;
    this.pump();
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private closeOpen(): void {
    if (this.open.length === 0) return;
    this.full.push(this.open);
    this.resetOpen();
  }

  private resetOpen(): void {
    this.open = [];
    this.openBytes = 0;
    this.lingerExpired = false;
    this.compatibility?.reset();
    if (this.lingerTimer !== undefined) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
  }

  private pump(): void {
    while (this.inFlight < this.limits.maxInFlight) {
      let batch = this.full.shift();
      if (batch === undefined) {
        if (!this.lingerExpired || this.open.length === 0) break;
        batch = this.open;
        this.resetOpen();
      }
      this.inFlight++;
      void this.send(batch)
        .catch(() => {})
        .finally(() => {
          this.inFlight--;
          this.pump();
          if (this.isIdle()) {
            const waiters = this.idleWaiters;
            this.idleWaiters = [];
            for (const w of waiters) w();
          }
        });
    }
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && this.full.length === 0 && this.open.length === 0;
  }
}
