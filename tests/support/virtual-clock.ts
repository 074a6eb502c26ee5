// A Clock whose time moves only when the test says so: scheduled callbacks run, in order of
// their due time, as advance() passes it. For application code driven without real timers.
import type { Clock } from '../../src/application/ports/clock.js';

export class VirtualClock implements Clock {
  private now = 0;
  private nextId = 0;
  private readonly timers = new Map<number, { readonly dueMs: number; readonly fn: () => void }>();

  nowMs(): number {
    return 1_700_000_000_000 + this.now;
  }

  monotonicMs(): number {
    return this.now;
  }

  schedule(delayMs: number, fn: () => void): () => void {
    const id = this.nextId++;
    this.timers.set(id, { dueMs: this.now + Math.max(0, delayMs), fn });
    return () => this.timers.delete(id);
  }

  /** Moves time forward by `ms`, running every callback that falls due on the way (and letting promises settle after each). */
  async advance(ms: number): Promise<void> {
    const target = this.now + ms;
    for (;;) {
      let next: [number, { dueMs: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].dueMs <= target && (!next || entry[1].dueMs < next[1].dueMs)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.now = next[1].dueMs;
      next[1].fn();
      await settle();
    }
    this.now = target;
    await settle();
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
