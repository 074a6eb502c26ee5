import { AsyncQueue } from '../internal/async-queue.js';
import type { OxiaClient } from '../oxia-client.js';
import { NotificationType, type CloseableAsyncIterable, type Notification, type Version } from '../types.js';
import type { OwnershipLostError } from './errors.js';
import type { HubListener } from './notification-hub.js';
import { Ownership, type AcquireOptions } from './ownership.js';
import { TicketQueue } from './ticket-queue.js';

export interface LeaderElectionOptions {
  /** What this candidate announces while leader (an address, a name); default empty. */
  value?: string | Uint8Array | undefined;
}

/** The current leader as observers see it. */
export interface LeaderInfo {
  /** The leader's candidate record. */
  readonly key: string;
  /** The value the leader campaigned with. */
  readonly value: Uint8Array;
  /** Its version: `clientIdentity` names the leader's client, `versionId` is a fencing token. */
  readonly version: Version;
}

/**
 * Leader election, like etcd's `concurrency.Election`: candidates `campaign()` and
 * become leader in the order they campaigned; the leader stays leader until it
 * `resign()`s or its session ends, and is told (`signal`, `onLeadershipLost`) when that
 * happens without its consent. Anyone can `observe()` who leads.
 *
 * Records: ephemeral sequence keys "<name>/candidate-<20 digits>" on the shard of the
 * partition key `<name>`, valued with the candidate's value; the lowest one leads.
 * Needs notifications enabled on the namespace.
 */
export class LeaderElection {
  private readonly queue: TicketQueue;
  private readonly ownership: Ownership;

  constructor(
    readonly client: OxiaClient,
    readonly name: string,
    options: LeaderElectionOptions = {},
  ) {
    const value = options.value ?? new Uint8Array();
    this.queue = new TicketQueue(client, name, 'candidate');
    this.ownership = new Ownership(this.queue, typeof value === 'string' ? Buffer.from(value, 'utf8') : value, `leadership of '${name}'`);
  }

  /**
   * Joins the election and waits until this candidate leads.
   * @throws AcquireTimeoutError after `timeoutMs`; the signal's reason when it aborts
   *   (the candidacy is withdrawn in both cases).
   */
  campaign(options?: AcquireOptions): Promise<void> {
    return this.ownership.acquire(options);
  }

  /** Steps down (or withdraws the candidacy); the next candidate leads. No-op when not leader. */
  resign(): Promise<void> {
    return this.ownership.release();
  }

  get isLeader(): boolean {
    return this.ownership.held;
  }

  /** While leader: aborts when the leadership ends (resigned, or lost with an OwnershipLostError reason). */
  get signal(): AbortSignal | undefined {
    return this.ownership.signal;
  }

  /** While leader: the candidate record's version id, larger for every later leader. */
  get fencingToken(): number | undefined {
    return this.ownership.fencingToken;
  }

  /** Runs `listener` when this candidate's leadership is lost (not resigned). Returns an unsubscribe. */
  onLeadershipLost(listener: (error: OwnershipLostError) => void): () => void {
    return this.ownership.onLost(listener);
  }

  /** The current leader, or undefined when there is no candidate. */
  async leader(): Promise<LeaderInfo | undefined> {
    const r = await this.queue.first();
    return r === undefined ? undefined : { key: r.key, value: r.value ?? new Uint8Array(), version: r.version };
  }

  /**
   * The leader now, then each time it changes (undefined while there is none). A slow
   * consumer gets the latest leader, not every one in between. Ends with an error if
   * the notifications it relies on fail; `close()` ends it.
   */
  observe(): CloseableAsyncIterable<LeaderInfo | undefined> {
    return new LeaderObserver(this.queue, () => this.leader());
  }

  /** Calls `listener` with the leader now and on every change; returns a function that stops it. */
  onLeaderChange(listener: (leader: LeaderInfo | undefined) => void, onError?: (error: unknown) => void): () => void {
    const observer = this.observe();
    void (async () => {
      try {
        for await (const leader of observer) listener(leader);
      } catch (e) {
        onError?.(e);
      }
    })();
    return () => observer.close();
  }
}

/** Re-reads the leader after every change to the candidates; emits only real changes. */
class LeaderObserver implements CloseableAsyncIterable<LeaderInfo | undefined>, HubListener {
  private readonly queue = new AsyncQueue<LeaderInfo | undefined>(1);
  private readonly stopListening: () => void;
  private dirty = true;
  private closed = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly tickets: TicketQueue,
    private readonly readLeader: () => Promise<LeaderInfo | undefined>,
  ) {
    // Listening starts before the first read, so no change after it goes unseen.
    this.stopListening = tickets.hub.listen(this);
    void this.run();
  }

  onNotification(n: Notification): void {
    if (n.key.startsWith(this.tickets.prefix) || n.type === NotificationType.KEY_RANGE_DELETED) {
      this.dirty = true;
      this.wake?.();
    }
  }

  onFailure(error: Error): void {
    this.queue.fail(error);
    this.close();
  }

  private async run(): Promise<void> {
    let last: string | undefined;
    while (!this.closed) {
      if (!this.dirty) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      this.dirty = false;
      let leader: LeaderInfo | undefined;
      try {
        leader = await this.readLeader();
      } catch (e) {
        this.queue.fail(e);
        this.close();
        return;
      }
      const id = leader === undefined ? '' : `${leader.key}@${leader.version.versionId}`;
      if (id !== last) {
        last = id;
        this.queue.replaceWith(leader);
      }
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<LeaderInfo | undefined> {
    return {
      next: () => this.queue.take(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopListening();
    this.queue.end();
    this.wake?.();
  }
}
