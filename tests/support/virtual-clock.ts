// A Clock whose time moves only when the test says so, on the simulator's scheduler
// (src/adapters/simulation/virtual-time.ts): scheduled callbacks run, in order of their due
// time, as advance() passes it. For application code driven without real timers.
import { Incarnation, VirtualClock as SimulatedClock, VirtualScheduler } from '../../src/adapters/simulation/virtual-time.js';

export class VirtualClock extends SimulatedClock {
  constructor() {
    super(new VirtualScheduler(), new Incarnation('test'));
  }

  /** Moves time forward by `ms`, running every callback that falls due on the way (and letting promises settle after each). */
  async advance(ms: number): Promise<void> {
    const target = this.scheduler.now() + ms;
    while (this.scheduler.runNext(target)) await settle();
    this.scheduler.advanceTo(target);
    await settle();
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
