import { rangeWithin, type HashRange } from '../../../domain/sharding/hash-range.js';
import type { ClientLogger } from '../options.js';
import type { CloseableAsyncIterable, Notification } from '../types.js';
import { AsyncQueue } from './async-queue.js';
import { Backoff, sleep } from './backoff.js';
import { toNotification } from './convert.js';
import { publicError } from './public-error.js';
import { isRetryable, RpcError, type LeaderHint } from './rpc-error.js';
import type { ShardDirectory, ShardInfo } from './shard-directory.js';
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
 *
 * Splits (ADR 0025): each child of a split shard holds the parent's notification batches
 * for its range, at the parent's offsets, before its own (which continue after the
 * parent's last offset). When the assignments replace a followed shard by the shards
 * within its range, its stream is stopped after the batch it is delivering and each child
 * is read from the parent's last delivered offset: the changes the parent had not yet
 * delivered come from the children, each once, and nothing written to a child is missed.
 * Such a child needs no positioning (its start offset is known); a child of a parent never
 * positioned starts "from now" like any new shard.
 */
export class NotificationSubscription implements CloseableAsyncIterable<Notification> {
  private readonly queue = new AsyncQueue<Notification>(QUEUE_CAPACITY);
  private readonly stop = new AbortController();
  private readonly offsets = new Map<bigint, bigint>();
  /** The shards followed: the range each had when followed, its own stop, its reading loop. */
  private readonly streams = new Map<bigint, ShardStream>();
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
    for (const s of directory.all()) this.follow(s, undefined);
    this.unsubscribe = directory.onChange((shards) => this.shardsChanged(shards));
  }

  /** The promise an operation on `shard` must wait for, or undefined when it need not wait. */
  positioning(shard: bigint): Promise<void> | undefined {
    return this.unpositioned.get(shard)?.promise;
  }

  /** Follows new shards; a shard within the range of a followed shard now gone takes over from it. */
  private shardsChanged(shards: readonly ShardInfo[]): void {
    const current = new Set(shards.map((s) => s.id));
    const gone = [...this.streams].filter(([id]) => !current.has(id));
    for (const s of shards) {
      if (this.streams.has(s.id)) continue;
      const parent = gone.find(([, stream]) => rangeWithin(s.range, stream.range));
      this.follow(s, parent?.[0]);
    }
  }

  private follow(shard: ShardInfo, parent: bigint | undefined): void {
    if (this.streams.has(shard.id) || this.stop.signal.aborted) return;
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.unpositioned.set(shard.id, { promise, resolve });
    this.gate.add(this);
    const stop = new AbortController();
    const onStop = () => stop.abort();
    this.stop.signal.addEventListener('abort', onStop, { once: true });
    const stream: ShardStream = { range: shard.range, stop, done: Promise.resolve() };
    this.streams.set(shard.id, stream);
    stream.done = (async () => {
      try {
        if (parent !== undefined) await this.takeOver(shard.id, parent);
        await this.readShard(shard.id, stop.signal);
      } finally {
        this.stop.signal.removeEventListener('abort', onStop);
      }
    })();
  }

  /** Stops the split parent's stream after the batch it is delivering; the child starts at its offset. */
  private async takeOver(child: bigint, parent: bigint): Promise<void> {
    const stream = this.streams.get(parent);
    if (stream === undefined) return;
    stream.stop.abort();
    await stream.done;
    this.positioned(parent);
    const offset = this.offsets.get(parent);
    if (offset === undefined) return;
    this.offsets.set(child, offset);
    this.positioned(child);
    this.logger.debug?.(`notifications of shard ${child} continue from offset ${offset} of split shard ${parent}`);
  }

  private positioned(shard: bigint): void {
    const waiting = this.unpositioned.get(shard);
    if (waiting === undefined) return;
    this.unpositioned.delete(shard);
    if (this.unpositioned.size === 0) this.gate.delete(this);
    waiting.resolve();
  }

  private async readShard(shard: bigint, signal: AbortSignal): Promise<void> {
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
          // The shard was removed and no shard took over from it (else it would have stopped it).
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

interface ShardStream {
  readonly range: HashRange;
  readonly stop: AbortController;
  done: Promise<void>;
}
