import type { ClientLogger } from '../options.js';
import type { CloseableAsyncIterable } from '../types.js';
import { AsyncQueue } from './async-queue.js';
import { Backoff, sleep } from './backoff.js';
import { publicError } from './public-error.js';
import { isRetryable, RpcError, type LeaderHint } from './rpc-error.js';
import type { ShardDirectory } from './shard-directory.js';
import { shardTarget } from './shard-target.js';
import type { ClientTransport } from './transport.js';

/**
 * The highest key of a sequence, each time it advances. Only the latest value matters,
 * so a consumer that falls behind gets the newest key, not a backlog. The stream is
 * reopened after failures; the server starts each stream with the current highest key,
 * which is not repeated if it did not change meanwhile.
 */
export class SequenceUpdatesSubscription implements CloseableAsyncIterable<string> {
  private readonly queue = new AsyncQueue<string>(1);
  private readonly stop = new AbortController();
  private lastKey: string | undefined;

  constructor(
    private readonly transport: ClientTransport,
    private readonly directory: ShardDirectory,
    private readonly shard: bigint,
    private readonly prefixKey: string,
    private readonly logger: ClientLogger,
    clientClosed: AbortSignal,
  ) {
    const onClientClosed = () => this.close();
    clientClosed.addEventListener('abort', onClientClosed, { once: true });
    this.stop.signal.addEventListener('abort', () => clientClosed.removeEventListener('abort', onClientClosed), { once: true });
    void this.run();
  }

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    const backoff = new Backoff(50, 2000);
    let hint: LeaderHint | undefined;
    while (!signal.aborted) {
      try {
        const target = shardTarget(this.directory, this.shard, hint);
        for await (const update of this.transport.sequenceUpdates(target, { shard: this.shard, key: this.prefixKey }, signal)) {
          backoff.reset();
          if (update.highestSequenceKey === '' || update.highestSequenceKey === this.lastKey) continue;
          this.lastKey = update.highestSequenceKey;
          this.queue.replaceWith(update.highestSequenceKey);
        }
      } catch (e) {
        if (signal.aborted) return;
        if (!isRetryable(e)) {
          this.queue.fail(publicError(e, `sequence updates of '${this.prefixKey}' on shard ${this.shard}`));
          this.stop.abort();
          return;
        }
        hint = e instanceof RpcError ? e.leaderHint : undefined;
        this.logger.debug?.(`sequence updates of '${this.prefixKey}' interrupted (${e instanceof Error ? e.message : String(e)}); resuming`);
      }
      try {
        await sleep(backoff.next(), signal);
      } catch {
        return;
      }
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    return {
      next: () => this.queue.take(),
      return: async () => {
        this.close();
        return { value: undefined, done: true };
      },
    };
  }

  close(): void {
    this.queue.close();
    this.stop.abort();
  }
}
