/**
 * A bounded queue between producers (per-shard stream readers) and one async-iterator
 * consumer. `push` waits while the queue is full, which stops the producers from reading
 * their streams, so a slow consumer slows the server down instead of growing memory.
 * `fail` delivers an error to the consumer after the items already queued.
 */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly takers: { resolve(r: IteratorResult<T, undefined>): void; reject(e: unknown): void }[] = [];
  private readonly spaceWaiters: (() => void)[] = [];
  private ended = false;
  private error: unknown;
  private hasError = false;

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  /** Resolves once the item is queued (or dropped because the queue has ended). */
  async push(item: T): Promise<void> {
    while (!this.ended && this.items.length >= this.capacity && this.takers.length === 0) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.ended) return;
    const taker = this.takers.shift();
    if (taker !== undefined) taker.resolve({ value: item, done: false });
    else this.items.push(item);
  }

  /** Replaces the queue's content with `item` (a "latest value" queue never blocks). */
  replaceWith(item: T): void {
    if (this.ended) return;
    const taker = this.takers.shift();
    if (taker !== undefined) {
      taker.resolve({ value: item, done: false });
      return;
    }
    this.items.length = 0;
    this.items.push(item);
  }

  take(): Promise<IteratorResult<T, undefined>> {
    if (this.items.length > 0) {
      const item = this.items.shift() as T;
      this.spaceWaiters.shift()?.();
      return Promise.resolve({ value: item, done: false });
    }
    if (this.hasError) {
      this.hasError = false;
      const e = this.error;
      this.error = undefined;
      return Promise.reject(e);
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.takers.push({ resolve, reject }));
  }

  /** Ends the queue: the consumer sees `done` once the queued items are taken. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    for (const t of this.takers.splice(0)) t.resolve({ value: undefined, done: true });
    for (const w of this.spaceWaiters.splice(0)) w();
  }

  /** Ends the queue with an error, thrown to the consumer after the queued items. */
  fail(error: unknown): void {
    if (this.ended) return;
    const taker = this.takers.shift();
    if (taker !== undefined) taker.reject(error);
    else {
      this.error = error;
      this.hasError = true;
    }
    this.end();
  }

  /** Stops the queue at once, dropping queued items. */
  close(): void {
    this.items.length = 0;
    this.hasError = false;
    this.end();
  }
}
