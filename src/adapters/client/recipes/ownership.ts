import { InvalidOptionsError, OxiaError } from '../errors.js';
import { AcquireTimeoutError, OwnershipLostError } from './errors.js';
import type { Ticket, TicketQueue } from './ticket-queue.js';

export interface AcquireOptions {
  /** Gives up when this signal aborts (rejecting with its reason); the place in the queue is left. */
  signal?: AbortSignal | undefined;
  /** Gives up after this long (rejecting with AcquireTimeoutError); the place in the queue is left. */
  timeoutMs?: number | undefined;
}

/**
 * Holding the first place of a TicketQueue: the state both Lock and LeaderElection are
 * made of. One holding at a time per instance (not re-entrant); after a release or a
 * loss the instance can acquire again.
 */
export class Ownership {
  private ticket: Ticket | undefined;
  private state: 'idle' | 'acquiring' | 'held' = 'idle';
  private readonly lostListeners = new Set<(error: OwnershipLostError) => void>();

  constructor(
    private readonly queue: TicketQueue,
    private readonly value: Uint8Array,
    /** For messages: "lock '/x'". */
    private readonly what: string,
  ) {}

  get held(): boolean {
    return this.state === 'held';
  }

  get key(): string | undefined {
    return this.state === 'held' ? this.ticket?.key : undefined;
  }

  get fencingToken(): number | undefined {
    return this.state === 'held' ? this.ticket?.versionId : undefined;
  }

  get signal(): AbortSignal | undefined {
    return this.state === 'held' ? this.ticket?.signal : undefined;
  }

  onLost(listener: (error: OwnershipLostError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  async acquire(options: AcquireOptions = {}): Promise<void> {
    const { timeoutMs } = options;
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0)) {
      throw new InvalidOptionsError(`timeoutMs must be a number >= 0, got ${String(timeoutMs)}`);
    }
    const signals: AbortSignal[] = [];
    if (options.signal !== undefined) signals.push(options.signal);
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (timeoutMs !== undefined) {
      const timeout = new AbortController();
      timer = setTimeout(() => timeout.abort(new AcquireTimeoutError(`${this.what} was not acquired within ${timeoutMs} ms`)), timeoutMs);
      signals.push(timeout.signal);
    }
    try {
      await this.run(signals.length === 0 ? new AbortController().signal : AbortSignal.any(signals), true);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Acquires only if nobody holds it or waits for it; never waits for others. */
  async tryAcquire(): Promise<boolean> {
    return this.run(new AbortController().signal, false);
  }

  private async run(signal: AbortSignal, wait: boolean): Promise<boolean> {
    if (this.state !== 'idle') throw new OxiaError(`${this.what} is already ${this.state === 'held' ? 'held' : 'being acquired'} by this instance`, { kind: 'InvalidStatus' });
    signal.throwIfAborted();
    this.state = 'acquiring';
    let ticket: Ticket | undefined;
    try {
      ticket = await this.queue.join(this.value);
      if (wait) await this.queue.waitForTurn(ticket, signal);
      else if (!(await this.queue.isFirst(ticket))) {
        await ticket.leave();
        this.state = 'idle';
        return false;
      }
      ticket.throwIfEnded(signal);
    } catch (e) {
      this.state = 'idle';
      await ticket?.leave().catch(() => {});
      // Before anything was held, a failure of the notifications (e.g. NotificationsNotEnabled) is that failure, not a loss.
      throw e instanceof OwnershipLostError && e.cause instanceof OxiaError ? e.cause : e;
    }
    this.ticket = ticket;
    this.state = 'held';
    const held = ticket;
    held.signal.addEventListener(
      'abort',
      () => {
        if (this.ticket !== held) return;
        this.ticket = undefined;
        this.state = 'idle';
        const reason: unknown = held.signal.reason;
        if (!(reason instanceof OwnershipLostError)) return;
        for (const l of this.lostListeners) {
          try {
            l(reason);
          } catch {
            // One listener's failure must not keep the others from hearing of the loss.
          }
        }
      },
      { once: true },
    );
    return true;
  }

  /** Gives it up and deletes the record; nothing to do when not held. */
  async release(): Promise<void> {
    const ticket = this.ticket;
    if (this.state !== 'held' || ticket === undefined) return;
    await ticket.leave();
  }
}
