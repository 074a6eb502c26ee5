/** The Clock port on the real clocks of this process. */
import type { ServiceIdentifier } from 'inversify';
import { inject, injectable } from 'inversify';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../../application/ports/clock.js';

export interface SystemClockOptions {
  /**
   * Whether scheduled callbacks let the process exit while they wait. Servers set
   * it: their sockets keep the process alive, and a forgotten housekeeping timer
   * must not hold up exit. Off by default because a caller awaiting a scheduled
   * callback with nothing else pending would otherwise see the process end under it.
   */
  readonly unrefTimers: boolean;
}
export const SystemClockOptions: ServiceIdentifier<SystemClockOptions> = Symbol.for('oxia.SystemClockOptions');

@injectable()
export class SystemClock implements Clock {
  constructor(@inject(SystemClockOptions) private readonly options: SystemClockOptions) {}

  nowMs(): number {
    return Date.now();
  }

  monotonicMs(): number {
    return performance.now();
  }

  schedule(delayMs: number, fn: () => void): () => void {
    const timer = setTimeout(fn, Math.max(0, delayMs));
    if (this.options.unrefTimers) timer.unref();
    return () => clearTimeout(timer);
  }
}
