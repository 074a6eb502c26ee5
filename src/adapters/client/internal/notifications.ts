import type { ClientLogger } from '../options.js';
import type { CloseableAsyncIterable, Notification } from '../types.js';
import { AsyncQueue } from './async-queue.js';
import { Backoff, sleep } from './backoff.js';
import { toNotification } from './convert.js';
import { publicError } from './public-error.js';
import { isRetryable, RpcError, type LeaderHint } from './rpc-error.js';
import type { ShardDirectory } from './shard-directory.js';
import { shardTarget } from './shard-target.js';
import type { ClientTransport } from './transport.js';

/** Notifications buffered for a consumer that is behind; beyond this the shard streams pause. */
const QUEUE_CAPACITY = 1000;

/**
 * What operations consult before they start: the subscriptions with shards whose stream
 * is not positioned yet. The client keeps one set; subscriptions add and remove themselves.
 */
export type PositioningGate = Set<{ positioning(shard: bigint): Promise<void> | undefined }>;

/**
 * Change notifications of every shard, merged into one iterable. Each shard is read by
 * its own loop that remembers the offset of the last batch; when a stream breaks (leader
 * change, server restart) it reopens from that offset, so no change is lost or repeated.
 * Shards added by a later assignment update are followed too.
 *
 * Positioning: a stream opened without a start offset first receives an empty batch with
 * the shard's current commit offset (Oxia servers and oxia-ts both send it). Until that
 * batch has arrived for a shard, the subscription sits in the client's PositioningGate
 * and operations on that shard wait (see OxiaClient.admit), so a change this client
 * makes after subscribing is always delivered. There is deliberately no time limit on
 * this wait besides each operation's own request timeout: a time-based fallback would
 * silently break the guarantee exactly when a server is slow, and because the gate is
 * per shard, a shard that cannot be reached delays only operations on that shard, which
 * could not complete anyway. Shards added by a later assignment update are gated too.
 * A non-retryable failure (e.g. notifications disabled) ends the iteration with that error.
 */
export class NotificationSubscription implements CloseableAsyncIterable<Notification> {
  private readonly queue = new AsyncQueue<Notification>(QUEUE_CAPACITY);
  private readonly stop = new AbortController();
  private readonly offsets = new Map<bigint, bigint>();
  private readonly followed = new Set<bigint>();
  /** Shards whose first batch has not arrived, with the promise operations on them wait for. */
  private readonly unpositioned = new Map<bigint, { promise: Promise<void>; resolve: () => void }>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly transport: ClientTransport,
    private readonly directory: ShardDirectory,
    private readonly logger: ClientLogger,
    private readonly gate: PositioningGate,
    clientClosed: AbortSignal,
  ) {
    const onClientClosed = () => this.close();
    clientClosed.addEventListener('abort', onClientClosed, { once: true });
    this.stop.signal.addEventListener('abort', () => clientClosed.removeEventListener('abort', onClientClosed), { once: true });
    for (const s of directory.all()) this.follow(s.id);
    this.unsubscribe = directory.onChange((shards) => {
      for (const s of shards) this.follow(s.id);
    });
  }

  /** The promise an operation on `shard` must wait for, or undefined when it need not wait. */
  positioning(shard: bigint): Promise<void> | undefined {
    return this.unpositioned.get(shard)?.promise;
  }

  private follow(shard: bigint): void {
    if (this.followed.has(shard) || this.stop.signal.aborted) return;
    this.followed.add(shard);
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.unpositioned.set(shard, { promise, resolve });
    this.gate.add(this);
    void this.readShard(shard);
  }

  private positioned(shard: bigint): void {
    const waiting = this.unpositioned.get(shard);
    if (waiting === undefined) return;
    this.unpositioned.delete(shard);
    if (this.unpositioned.size === 0) this.gate.delete(this);
    waiting.resolve();
  }

  private async readShard(shard: bigint): Promise<void> {
    const signal = this.stop.signal;
    const backoff = new Backoff(50, 2000);
    let hint: LeaderHint | undefined;
    while (!signal.aborted) {
      try {
        const offset = this.offsets.get(shard);
        const request = offset === undefined ? { shard } : { shard, startOffsetExclusive: offset };
        for await (const batch of this.transport.notifications(shardTarget(this.directory, shard, hint), request, signal)) {
          for (const entry of batch.notifications) {
            if (entry.key !== undefined && entry.value !== undefined) await this.queue.push(toNotification(entry.key, entry.value));
          }
          this.offsets.set(shard, batch.offset);
          this.positioned(shard);
          backoff.reset();
        }
      } catch (e) {
        if (signal.aborted) return;
        if (this.directory.get(shard) === undefined && this.directory.size > 0) {
          // The shard was split or merged away; its successors are followed on their own.
          this.followed.delete(shard);
          this.positioned(shard);
          return;
        }
        if (!isRetryable(e)) {
          this.queue.fail(publicError(e, `notifications of shard ${shard}`));
          this.positioned(shard);
          this.shutdown();
          return;
        }
        hint = e instanceof RpcError ? e.leaderHint : undefined;
        this.logger.debug?.(`notifications of shard ${shard} interrupted (${e instanceof Error ? e.message : String(e)}); resuming`);
      }
      try {
        await sleep(backoff.next(), signal);
      } catch {
        return;
      }
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Notification> {
    return {
      next: () => this.queue.take(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }

  /** Stops every shard stream; the iteration ends (queued notifications are dropped). */
  close(): void {
    this.queue.close();
    this.shutdown();
  }

  private shutdown(): void {
    if (this.stop.signal.aborted) return;
    this.stop.abort();
    this.unsubscribe();
    // Operations waiting for this subscription's positioning go ahead: it is over.
    for (const shard of [...this.unpositioned.keys()]) this.positioned(shard);
  }
}
