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
 * How long `ready` waits for the servers' first batches. Oxia servers open every stream
 * without a start offset with a batch carrying the current offset; a server that does
 * not has certainly registered the stream after this long, so writes need not wait more.
 */
const POSITIONING_WAIT_MAX_MS = 2000;

/**
 * Change notifications of every shard, merged into one iterable. Each shard is read by
 * its own loop that remembers the offset of the last batch; when a stream breaks (leader
 * change, server restart) it reopens from that offset, so no change is lost or repeated.
 * Shards added by a later assignment update are followed too.
 *
 * `ready` resolves once every shard's stream is positioned (the server's first batch,
 * which carries the current offset, has arrived), when the subscription fails, or after
 * at most POSITIONING_WAIT_MAX_MS.
 * A non-retryable failure (e.g. notifications disabled) ends the iteration with that error.
 */
export class NotificationSubscription implements CloseableAsyncIterable<Notification> {
  readonly ready: Promise<void>;
  private readonly queue = new AsyncQueue<Notification>(QUEUE_CAPACITY);
  private readonly stop = new AbortController();
  private readonly offsets = new Map<bigint, bigint>();
  private readonly followed = new Set<bigint>();
  private readonly unpositioned = new Set<bigint>();
  private markReady!: () => void;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly transport: ClientTransport,
    private readonly directory: ShardDirectory,
    private readonly logger: ClientLogger,
    clientClosed: AbortSignal,
  ) {
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    const fallback = setTimeout(() => this.markReady(), POSITIONING_WAIT_MAX_MS);
    void this.ready.then(() => clearTimeout(fallback));
    const onClientClosed = () => this.close();
    clientClosed.addEventListener('abort', onClientClosed, { once: true });
    this.stop.signal.addEventListener('abort', () => clientClosed.removeEventListener('abort', onClientClosed), { once: true });
    for (const s of directory.all()) this.unpositioned.add(s.id);
    if (this.unpositioned.size === 0) this.markReady();
    for (const s of directory.all()) this.follow(s.id);
    this.unsubscribe = directory.onChange((shards) => {
      for (const s of shards) this.follow(s.id);
    });
  }

  private follow(shard: bigint): void {
    if (this.followed.has(shard) || this.stop.signal.aborted) return;
    this.followed.add(shard);
    void this.readShard(shard);
  }

  private positioned(shard: bigint): void {
    if (this.unpositioned.delete(shard) && this.unpositioned.size === 0) this.markReady();
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
    this.markReady();
  }
}
