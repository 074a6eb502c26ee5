import type { OxiaClient } from '../oxia-client.js';
import type { OwnershipLostError } from './errors.js';
import { Ownership, type AcquireOptions } from './ownership.js';
import { TicketQueue } from './ticket-queue.js';

export interface LockOptions {
  /** Stored in this contender's record (e.g. who it is); default empty. */
  value?: string | Uint8Array | undefined;
}

/**
 * A fair distributed lock, like etcd's `concurrency.Mutex` or Curator's
 * `InterProcessMutex`: contenders get it in the order they asked, and it is released by
 * `release()` or when the holder's session ends (the process died or lost contact for a
 * session timeout, `sessionTimeoutMs` of the client).
 *
 * Records: ephemeral sequence keys "<name>/lock-<20 digits>", all on the shard of the
 * partition key `<name>`; the lowest one holds the lock. Needs notifications enabled on
 * the namespace. Instances are not re-entrant: one holding at a time; several instances
 * (in one client or many) contend with one another.
 *
 * A lease can end without the holder's consent; `signal` aborts and `onLost` listeners
 * run when that is noticed, and `fencingToken` lets guarded resources refuse writes from
 * an older holder.
 */
export class Lock {
  private readonly ownership: Ownership;

  constructor(client: OxiaClient, readonly name: string, options: LockOptions = {}) {
    const value = options.value ?? new Uint8Array();
    this.ownership = new Ownership(new TicketQueue(client, name, 'lock'), typeof value === 'string' ? Buffer.from(value, 'utf8') : value, `lock '${name}'`);
  }

  /**
   * Waits until this instance holds the lock.
   * @throws AcquireTimeoutError after `timeoutMs`; the signal's reason when it aborts.
   * @throws OwnershipLostError when the session was lost while waiting.
   */
  acquire(options?: AcquireOptions): Promise<void> {
    return this.ownership.acquire(options);
  }

  /** Takes the lock if it is free and nobody waits for it; false (at once) otherwise. */
  tryAcquire(): Promise<boolean> {
    return this.ownership.tryAcquire();
  }

  /** Releases the lock (deletes the record); the next waiter gets it. No-op when not held. */
  release(): Promise<void> {
    return this.ownership.release();
  }

  /** Whether this instance holds the lock, as far as it knows. */
  get isHeld(): boolean {
    return this.ownership.held;
  }

  /** The holder's record key while held. */
  get key(): string | undefined {
    return this.ownership.key;
  }

  /** While held: the record's version id, larger for every later holder of this lock. */
  get fencingToken(): number | undefined {
    return this.ownership.fencingToken;
  }

  /** While held: aborts when the holding ends (released, or lost with an OwnershipLostError reason). */
  get signal(): AbortSignal | undefined {
    return this.ownership.signal;
  }

  /** Runs `listener` whenever a holding of this instance is lost (not released). Returns an unsubscribe. */
  onLost(listener: (error: OwnershipLostError) => void): () => void {
    return this.ownership.onLost(listener);
  }
}
