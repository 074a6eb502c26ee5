import { InvalidOptionsError, KeyNotFoundError, OxiaError } from '../errors.js';
import { shardOfRoutingKey, type OxiaClient } from '../oxia-client.js';
import { ComparisonType, NotificationType, type GetResult, type Notification, type Version } from '../types.js';
import { OwnershipLostError } from './errors.js';
import { NotificationHub, type HubListener } from './notification-hub.js';

/** Deletions remembered by one wait; past this the waiter simply checks the queue again. */
const DELETIONS_REMEMBERED_MAX = 10_000;

/** What the recipes share per client: one notification subscription, the tickets alive in this process. */
interface ClientState {
  readonly hub: NotificationHub;
  /** Keys of this client's live tickets: records of its sessions not listed here are orphans. */
  readonly owned: Set<string>;
  /** Per queue, the tail of the chain that runs this client's joins one at a time. */
  readonly joins: Map<string, Promise<void>>;
}
const states = new WeakMap<OxiaClient, ClientState>();

function stateOf(client: OxiaClient): ClientState {
  let s = states.get(client);
  if (s === undefined) {
    s = { hub: new NotificationHub(client), owned: new Set(), joins: new Map() };
    states.set(client, s);
  }
  return s;
}

/**
 * A fair queue on Oxia records, the common core of Lock and LeaderElection.
 *
 * Each contender joins with an ephemeral sequence-key put: the server appends the next
 * number to "<name>/<kind>", so tickets are ordered by arrival, and every ticket lives on
 * the shard of the partition key `<name>`. A ticket is first when no ticket key is lower;
 * a waiting ticket watches only its predecessor's deletion (ZooKeeper's recipe, so a
 * release wakes one waiter, not all). Tickets vanish with their session, so a crashed
 * holder releases after its session timeout.
 */
export class TicketQueue {
  /** Every ticket key starts with this; the server appends a 20-digit number. */
  readonly prefix: string;
  private readonly sequenceKey: string;
  private readonly state: ClientState;

  constructor(
    readonly client: OxiaClient,
    readonly name: string,
    kind: string,
  ) {
    if (typeof name !== 'string' || name === '') throw new InvalidOptionsError('the name of a lock or election must be a non-empty string');
    this.sequenceKey = `${name}/${kind}`;
    this.prefix = `${this.sequenceKey}-`;
    this.state = stateOf(client);
  }

  get hub(): NotificationHub {
    return this.state.hub;
  }

  /** True for keys of this queue's tickets (not for other keys that merely share the prefix). */
  isTicketKey(key: string): boolean {
    return key.length === this.prefix.length + 20 && key.startsWith(this.prefix) && /^\d{20}$/.test(key.slice(this.prefix.length));
  }

  /** Joins the end of the queue; resolves once the ticket's record exists. */
  async join(value: Uint8Array): Promise<Ticket> {
    // Listening starts before the put, so the ticket hears of its record's deletion however soon it comes.
    const ticket = new Ticket(this);
    try {
      await this.oneJoinAtATime(async () => {
        const r = await this.client.put(this.sequenceKey, value, { partitionKey: this.name, sequenceKeysDeltas: [1], ephemeral: true });
        ticket.bind(r.key, r.version);
        this.state.owned.add(r.key);
        await this.removeOrphans(r.version);
      });
    } catch (e) {
      ticket.end(e instanceof Error ? e : new OxiaError(String(e)));
      throw e;
    }
    return ticket;
  }

  /**
   * Waits until `ticket` is first in the queue. Rejects with the signal's reason when it
   * aborts, or with OwnershipLostError when the ticket is lost while waiting.
   */
  async waitForTurn(ticket: Ticket, signal: AbortSignal): Promise<void> {
    const deletions = new DeletionWatch(this.prefix);
    const stopListening = this.hub.listen(deletions);
    try {
      for (;;) {
        ticket.throwIfEnded(signal);
        deletions.reset();
        const predecessor = await this.predecessor(ticket.key);
        ticket.throwIfEnded(signal);
        if (predecessor === undefined) return;
        await deletions.until(predecessor, [signal, ticket.signal]);
      }
    } finally {
      stopListening();
    }
  }

  /** Whether `ticket` is first right now. */
  async isFirst(ticket: Ticket): Promise<boolean> {
    return (await this.predecessor(ticket.key)) === undefined;
  }

  /** The first ticket's record, or undefined when the queue is empty. */
  async first(): Promise<GetResult | undefined> {
    let probe = this.prefix;
    let comparisonType: ComparisonType = ComparisonType.CEILING;
    for (;;) {
      const r = await this.nearest(probe, comparisonType, true);
      if (r === undefined || !r.key.startsWith(this.prefix)) return undefined;
      if (this.isTicketKey(r.key)) return r;
      // A foreign key that shares the prefix: step over it.
      probe = r.key;
      comparisonType = ComparisonType.HIGHER;
    }
  }

  /**
   * The ticket just before `key`, or undefined when `key` is first. Every key between the
   * prefix and a ticket key starts with the prefix (in both key orders), so the walk
   * down stops at the first key that does not.
   */
  private async predecessor(key: string): Promise<string | undefined> {
    let probe = key;
    for (;;) {
      const r = await this.nearest(probe, ComparisonType.LOWER, false);
      if (r === undefined || !r.key.startsWith(this.prefix)) return undefined;
      if (this.isTicketKey(r.key)) return r.key;
      probe = r.key;
    }
  }

  private async nearest(key: string, comparisonType: ComparisonType, includeValue: boolean): Promise<GetResult | undefined> {
    try {
      return await this.client.get(key, { partitionKey: this.name, comparisonType, includeValue });
    } catch (e) {
      if (e instanceof KeyNotFoundError) return undefined;
      throw e;
    }
  }

  /** Deletes a ticket's record; a record already gone is fine. */
  async remove(key: string): Promise<void> {
    await this.client.delete(key, { partitionKey: this.name });
  }

  /** The shard holding this queue's tickets, numbered as in SessionLostEvent. */
  shard(): number {
    return shardOfRoutingKey(this.client, this.name);
  }

  /** Forgets a ticket that is no longer live in this process. */
  disown(key: string): void {
    this.state.owned.delete(key);
  }

  /**
   * Runs this client's joins of this queue one at a time, so that removeOrphans knows
   * every record of the client's session that a live ticket owns.
   */
  private async oneJoinAtATime(join: () => Promise<void>): Promise<void> {
    const previous = this.state.joins.get(this.prefix) ?? Promise.resolve();
    const mine = previous.then(join, join);
    const tail = mine.catch(() => {});
    this.state.joins.set(this.prefix, tail);
    try {
      await mine;
    } finally {
      if (this.state.joins.get(this.prefix) === tail) this.state.joins.delete(this.prefix);
    }
  }

  /**
   * A sequence put retried after a broken connection may have been applied twice: the
   * extra ticket belongs to this client's session, no live ticket owns it, and it would
   * block the queue until the session ends. Such records are deleted (best effort: a
   * failure here only leaves the session's end to remove them).
   */
  private async removeOrphans(mine: Version): Promise<void> {
    try {
      for await (const r of this.client.rangeScan(this.prefix, `${this.sequenceKey}.`, { partitionKey: this.name })) {
        const v = r.version;
        if (!this.isTicketKey(r.key) || this.state.owned.has(r.key)) continue;
        if (v.sessionId !== mine.sessionId || v.clientIdentity !== mine.clientIdentity) continue;
        await this.client.delete(r.key, { partitionKey: this.name, expectedVersionId: v.versionId }).catch(() => false);
      }
    } catch {
      // See above: not fatal.
    }
  }
}

/**
 * One contender's place in a TicketQueue. It ends when its owner leaves, or when it is
 * lost: its record was deleted, its session was lost, or notifications stopped (then
 * nobody could tell the owner if it were lost). `signal` aborts when it ends; for a loss
 * the reason is an OwnershipLostError.
 */
export class Ticket implements HubListener {
  private keyValue: string | undefined;
  private version: Version | undefined;
  private shard: number | undefined;
  private readonly ended = new AbortController();
  /** Deletions seen before the put answered, in case one of them is this ticket's. */
  private readonly earlyDeletions = new Set<string>();
  private readonly stopListening: () => void;
  private readonly stopSessionListener: () => void;
  private removal: Promise<void> | undefined;

  constructor(private readonly queue: TicketQueue) {
    this.stopSessionListener = queue.client.onSessionLost((e) => {
      if (this.version !== undefined && e.sessionId === this.version.sessionId && e.shard === this.shard) {
        this.lose(`its session ${e.sessionId} was lost: ${e.reason}`);
      }
    });
    this.stopListening = queue.hub.listen(this);
  }

  get key(): string {
    if (this.keyValue === undefined) throw new Error('ticket used before its record exists');
    return this.keyValue;
  }

  /** The record's version id: increases with every write on the shard, so it orders holders (a fencing token). */
  get versionId(): number {
    if (this.version === undefined) throw new Error('ticket used before its record exists');
    return this.version.versionId;
  }

  get signal(): AbortSignal {
    return this.ended.signal;
  }

  bind(key: string, version: Version): void {
    this.keyValue = key;
    this.version = version;
    this.shard = this.queue.shard();
    if (this.earlyDeletions.has(key)) this.lose('its record was deleted');
    this.earlyDeletions.clear();
  }

  onNotification(n: Notification): void {
    if (this.keyValue === undefined) {
      if (n.type === NotificationType.KEY_DELETED && n.key.startsWith(this.queue.prefix) && this.earlyDeletions.size < DELETIONS_REMEMBERED_MAX) {
        this.earlyDeletions.add(n.key);
      }
      return;
    }
    if (n.type === NotificationType.KEY_DELETED && n.key === this.keyValue) this.lose('its record was deleted');
    // Whether a range covers the key depends on the namespace's key order: ask the server.
    else if (n.type === NotificationType.KEY_RANGE_DELETED) void this.checkRecordExists();
  }

  onFailure(error: Error): void {
    this.lose(`notifications stopped (${error.message})`, error);
  }

  /** Throws the ticket's end reason, or the signal's abort reason. */
  throwIfEnded(signal: AbortSignal): void {
    if (this.ended.signal.aborted) throw this.ended.signal.reason;
    signal.throwIfAborted();
  }

  /** Ends the ticket by its owner's choice (if it has not ended) and deletes its record. */
  async leave(): Promise<void> {
    this.end(new OxiaError('left the queue', { kind: 'Aborted' }));
    try {
      await this.removeRecord();
    } catch (e) {
      // After close() the session's end removes the record; anything else the caller must hear.
      if (!(e instanceof OxiaError && e.kind === 'Closed')) throw e;
    }
  }

  /** Deletes the record, once. */
  private removeRecord(): Promise<void> {
    const key = this.keyValue;
    if (key === undefined) return Promise.resolve();
    this.removal ??= this.queue.remove(key).finally(() => this.queue.disown(key));
    return this.removal;
  }

  /** Ends the ticket (idempotent) and stops listening. */
  end(reason: Error): void {
    if (this.ended.signal.aborted) return;
    this.stopListening();
    this.stopSessionListener();
    this.ended.abort(reason);
  }

  private lose(why: string, cause?: unknown): void {
    if (this.ended.signal.aborted) return;
    this.end(new OwnershipLostError(`${this.keyValue ?? this.queue.prefix}: ${why}`, cause));
    // Whatever happened, the record must not block the queue.
    this.removeRecord().catch(() => {});
  }

  private async checkRecordExists(): Promise<void> {
    const key = this.keyValue;
    if (key === undefined) return;
    try {
      await this.queue.client.get(key, { partitionKey: this.queue.name, includeValue: false });
    } catch (e) {
      if (e instanceof KeyNotFoundError) this.lose('its record was deleted by a range deletion');
    }
  }
}

/** Remembers the deletions under a prefix, so a waiter cannot miss its predecessor's. */
class DeletionWatch implements HubListener {
  private readonly deleted = new Set<string>();
  /** Something happened that may concern any key (a range deletion, too many deletions). */
  private unsure = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(private readonly prefix: string) {}

  onNotification(n: Notification): void {
    if (n.type === NotificationType.KEY_DELETED && n.key.startsWith(this.prefix)) {
      if (this.deleted.size < DELETIONS_REMEMBERED_MAX) this.deleted.add(n.key);
      else this.unsure = true;
    } else if (n.type === NotificationType.KEY_RANGE_DELETED) {
      this.unsure = true;
    } else {
      return;
    }
    this.wake?.();
  }

  onFailure(error: Error): void {
    this.failure = error;
    this.wake?.();
  }

  /** Forgets what was seen: called before each read of the queue. */
  reset(): void {
    this.deleted.clear();
    this.unsure = false;
  }

  /** Resolves once `key` may have been deleted; rejects when a signal aborts or notifications fail. */
  async until(key: string, signals: readonly AbortSignal[]): Promise<void> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      for (const s of signals) s.throwIfAborted();
      if (this.unsure || this.deleted.has(key)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          this.wake = undefined;
          for (const s of signals) s.removeEventListener('abort', done);
          resolve();
        };
        this.wake = done;
        for (const s of signals) s.addEventListener('abort', done, { once: true });
      });
    }
  }
}
