import type { Clock } from '../../application/ports/clock.js';

interface Timer {
  readonly at: number;
  readonly seq: number;
  fn: (() => void) | undefined;
}

/**
 * Simulated time: callbacks run in (time, scheduling order) order, and time jumps to the
 * next callback when the simulation asks for it. Nothing here reads a real clock.
 */
export class VirtualScheduler {
  private time = 0;
  private seq = 0;
  private readonly heap: Timer[] = [];

  now(): number {
    return this.time;
  }

  schedule(delayMs: number, fn: () => void): () => void {
    const timer: Timer = { at: this.time + Math.max(0, delayMs), seq: this.seq++, fn };
    this.push(timer);
    return () => (timer.fn = undefined);
  }

  /** Runs the earliest live callback due by `untilMs`, moving time to it; false when there is none. */
  runNext(untilMs = Infinity): boolean {
    for (;;) {
      const top = this.heap[0];
      if (!top || (top.fn && top.at > untilMs)) return false;
      const timer = this.pop() as Timer;
      if (!timer.fn) continue;
      this.time = timer.at;
      const fn = timer.fn;
      timer.fn = undefined;
      fn();
      return true;
    }
  }

  /** Moves time forward to `ms` when nothing is due before it (time never goes back). */
  advanceTo(ms: number): void {
    if (ms > this.time) this.time = ms;
  }

  /** Whether any callback is still pending (cancelled ones included). */
  get idle(): boolean {
    return this.heap.length === 0;
  }

  private push(timer: Timer): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i] as Timer, h[parent] as Timer)) break;
      [h[i], h[parent]] = [h[parent] as Timer, h[i] as Timer];
      i = parent;
    }
  }

  private pop(): Timer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l] as Timer, h[m] as Timer)) m = l;
        if (r < h.length && before(h[r] as Timer, h[m] as Timer)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as Timer, h[i] as Timer];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * One life of a simulated process. A crash ends it: its timers never fire again, its
 * messages are dropped and its disk handles refuse work, while a new incarnation of the
 * same process starts from what its disk kept. The old one's code may still be running
 * promises in this process; this is what keeps it from touching anything.
 */
export class Incarnation {
  private living = true;

  constructor(readonly process: string) {}

  get alive(): boolean {
    return this.living;
  }

  end(): void {
    this.living = false;
  }

  /** Throws the error a dead process's I/O would meet (it is never observed by anyone alive). */
  check(): void {
    if (!this.living) throw new Error(`${this.process}: this incarnation has crashed`);
  }
}

/** The Clock port on simulated time, for one incarnation: a crashed process's timers are dropped. */
export class VirtualClock implements Clock {
  constructor(
    protected readonly scheduler: VirtualScheduler,
    private readonly incarnation: Incarnation,
    /** How fast this process's clock runs against simulated time: 1 is exact; a drifting clock is not. */
    private readonly rate = 1,
    /** Wall-clock time at simulated time 0 (fixed, so runs replay). */
    private readonly epochMs = 1_700_000_000_000,
  ) {}

  nowMs(): number {
    return this.epochMs + this.scheduler.now() * this.rate;
  }

  monotonicMs(): number {
    return this.scheduler.now() * this.rate;
  }

  schedule(delayMs: number, fn: () => void): () => void {
    return this.scheduler.schedule(delayMs / this.rate, () => {
      if (this.incarnation.alive) fn();
    });
  }
}
