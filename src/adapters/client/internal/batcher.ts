import { monotonicMs } from './retry.js';

export interface BatchLimits {
  /**
   * The longest a batch waits for company while other batches of its shard are out
   * and a slot is free; 0 sends whenever a slot is free. A shard with nothing in
   * flight never waits.
   */
  readonly lingerMs: number;
  readonly maxCount: number;
  readonly maxBytes: number;
  /** Batches sent but not yet answered, per shard (the pipeline depth). */
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

interface QueuedBatch<T> {
  readonly items: T[];
  /** When its first item arrived (monotonic ms). */
  readonly sinceMs: number;
}

/**
 * Groups one shard's operations into batches without making anyone wait for nothing:
 * - a shard with no batch in flight sends an operation at once;
 * - while batches are out, operations gather in the open batch (up to `maxCount`
 *   operations or `maxBytes`; full batches queue), which goes when a slot of the
 *   `maxInFlight` frees and it is full, has waited `lingerMs`, or its shard has
 *   nothing left in flight.
 * So one caller pays no linger, and many callers get batches as large as the time a
 * batch is out lets them grow: a slow server gets fewer, larger batches. The queue is
 * bounded by the client's admission control. Batches go out in the order they formed.
 *
 * `send` must settle every operation of the batch itself and never reject.
 */
export class Batcher<T extends BatchItem> {
  private open: T[] = [];
  private openBytes = 0;
  private openSinceMs = 0;
  private readonly full: QueuedBatch<T>[] = [];
  private lingerTimer: ReturnType<typeof setTimeout> | undefined;
  /** flush() asked for everything now: no batch waits for company until the shard is idle. */
  private flushing = false;
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
    if (this.open.length === 0) this.openSinceMs = monotonicMs();
    this.open.push(item);
    this.openBytes += item.sizeBytes;
    this.compatibility?.added(item);
    if (this.open.length >= this.limits.maxCount || this.openBytes >= this.limits.maxBytes) this.closeOpen();
    this.pump();
  }

  /** Sends everything now (ignoring linger) and resolves once all of it is answered. */
  flush(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    this.flushing = true;
    this.pump();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private closeOpen(): void {
    if (this.open.length === 0) return;
    this.full.push({ items: this.open, sinceMs: this.openSinceMs });
    this.open = [];
    this.openBytes = 0;
    this.compatibility?.reset();
  }

  private pump(): void {
    while (this.inFlight < this.limits.maxInFlight) {
      const queued = this.full[0];
      if (queued !== undefined) {
        this.full.shift();
        this.dispatch(queued.items);
        continue;
      }
      if (this.open.length === 0) break;
      const waitMs = this.lingerLeftMs();
      if (waitMs > 0) {
        this.armLinger(waitMs);
        break;
      }
      const batch = this.open;
      this.open = [];
      this.openBytes = 0;
      this.compatibility?.reset();
      this.dispatch(batch);
    }
  }

  /** How much longer the open batch may wait for company before it goes (0: now). */
  private lingerLeftMs(): number {
    if (this.inFlight === 0 || this.flushing || this.limits.lingerMs <= 0) return 0;
    return this.openSinceMs + this.limits.lingerMs - monotonicMs();
  }

  private armLinger(waitMs: number): void {
    if (this.lingerTimer !== undefined) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = undefined;
      this.pump();
    }, Math.ceil(waitMs));
  }

  private dispatch(batch: T[]): void {
    this.inFlight++;
    void this.send(batch)
      .catch(() => {})
      .finally(() => {
        this.inFlight--;
        this.pump();
        if (this.isIdle()) {
          this.flushing = false;
          if (this.lingerTimer !== undefined) {
            clearTimeout(this.lingerTimer);
            this.lingerTimer = undefined;
          }
          const waiters = this.idleWaiters;
          this.idleWaiters = [];
          for (const w of waiters) w();
        }
      });
  }

  private isIdle(): boolean {
    return this.inFlight === 0 && this.full.length === 0 && this.open.length === 0;
  }
}
