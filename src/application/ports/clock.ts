import type { ServiceIdentifier } from 'inversify';

/** Time crosses a port so that controllers can be driven by a fake clock in tests. */
export interface Clock {
  /** Wall clock, milliseconds since the epoch (record timestamps, retention). */
  nowMs(): number;
  /** Monotonic milliseconds (timeouts, session expiry). */
  monotonicMs(): number;
  /** Runs `fn` once after `delayMs`; returns a function that cancels it. */
  schedule(delayMs: number, fn: () => void): () => void;
}
export const Clock: ServiceIdentifier<Clock> = Symbol.for('oxia.Clock');
