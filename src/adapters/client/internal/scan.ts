import { RequestTimeoutError } from '../errors.js';
import { Backoff, sleep } from './backoff.js';
import { closedError } from './retry.js';
import { isRetryable, RpcError, type LeaderHint } from './rpc-error.js';
import type { ShardDirectory } from './shard-directory.js';
import { shardTarget } from './shard-target.js';

export interface ScanSpec<Msg, Item> {
  readonly shard: bigint;
  /** For messages: "list of shard 2". */
  readonly what: string;
  readonly startInclusive: string;
  /**
   * Whether a broken stream can be reopened after items were delivered: yes for primary
   * key ranges (restart at the last key, skipping it), no for index ranges (their
   * position is a secondary key the responses do not carry).
   */
  readonly resumable: boolean;
  open(target: string, startInclusive: string, signal: AbortSignal): AsyncIterable<Msg>;
  items(msg: Msg): Iterable<Item>;
  keyOf(item: Item): string;
}

export interface ScanContext {
  readonly directory: ShardDirectory;
  readonly requestTimeoutMs: number;
  readonly closed: AbortSignal;
}

/**
 * Streams one shard's range, pulling messages only as the consumer asks for items.
 * Retryable failures reopen the stream (at the hinted leader, after a delay); the
 * server must answer each pull within the request timeout, and the retries after a
 * failure must succeed within the request timeout since the last progress.
 */
export async function* scanShard<Msg, Item>(spec: ScanSpec<Msg, Item>, ctx: ScanContext): AsyncGenerator<Item, void, undefined> {
  let start = spec.startInclusive;
  let skipKey: string | undefined;
  let delivered = false;
  let hint: LeaderHint | undefined;
  const backoff = new Backoff();
  let retryUntilMs = performance.now() + ctx.requestTimeoutMs;
  for (;;) {
    if (ctx.closed.aborted) throw closedError(spec.what);
    const attempt = new AbortController();
    const onClose = () => attempt.abort(closedError(spec.what));
    ctx.closed.addEventListener('abort', onClose, { once: true });
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new RequestTimeoutError(`${spec.what}: no response within ${ctx.requestTimeoutMs} ms`);
    try {
      const it = spec.open(shardTarget(ctx.directory, spec.shard, hint), start, attempt.signal)[Symbol.asyncIterator]();
      try {
        for (;;) {
          watchdog = setTimeout(() => attempt.abort(timedOut), ctx.requestTimeoutMs);
          const r = await it.next();
          clearTimeout(watchdog);
          if (r.done === true) return;
          retryUntilMs = performance.now() + ctx.requestTimeoutMs;
          backoff.reset();
          for (const item of spec.items(r.value)) {
            const key = spec.keyOf(item);
            if (skipKey !== undefined) {
              const repeat = key === skipKey;
              skipKey = undefined;
              if (repeat) continue;
            }
            start = key;
            delivered = true;
            yield item;
          }
        }
      } finally {
        clearTimeout(watchdog);
        await it.return?.();
      }
    } catch (e) {
      if (ctx.closed.aborted) throw closedError(spec.what);
      if (attempt.signal.aborted && attempt.signal.reason === timedOut) throw timedOut;
      if (!isRetryable(e) || (delivered && !spec.resumable)) throw e;
      if (performance.now() >= retryUntilMs) {
        throw new RequestTimeoutError(`${spec.what} did not complete within ${ctx.requestTimeoutMs} ms; last error: ${(e as Error).message}`, e);
      }
      if (delivered) skipKey = start;
      hint = e instanceof RpcError ? e.leaderHint : undefined;
      try {
        await sleep(Math.min(backoff.next(), Math.max(0, retryUntilMs - performance.now())), ctx.closed);
      } catch {
        throw closedError(spec.what);
      }
    } finally {
      attempt.abort();
      ctx.closed.removeEventListener('abort', onClose);
    }
  }
}

/**
 * Merges per-shard streams by taking, each time, the smallest head by `compare` (the
 * first source's on ties). Sources ascending by `compare` give one ascending stream;
 * sources in another order (rangeScan: each shard's key order, merged by CompareWithSlash)
 * still give one definite result, the one the official clients give. Each source is pulled
 * only when its head was consumed; when the consumer stops early or a source fails,
 * every other source is closed (cancelling its server call).
 */
export async function* mergeSorted<T>(sources: AsyncIterable<T>[], compare: (a: T, b: T) => number): AsyncGenerator<T, void, undefined> {
  const iterators = sources.map((s) => s[Symbol.asyncIterator]());
  const heads: (T | undefined)[] = [];
  const live: boolean[] = iterators.map(() => true);
  const pull = async (i: number): Promise<void> => {
    const r = await (iterators[i] as AsyncIterator<T>).next();
    if (r.done === true) {
      live[i] = false;
      heads[i] = undefined;
    } else heads[i] = r.value;
  };
  try {
    await Promise.all(iterators.map((_, i) => pull(i)));
    for (;;) {
      let best = -1;
      for (let i = 0; i < iterators.length; i++) {
        if (!live[i]) continue;
        if (best < 0 || compare(heads[i] as T, heads[best] as T) < 0) best = i;
      }
      if (best < 0) return;
      yield heads[best] as T;
      await pull(best);
    }
  } finally {
    await Promise.allSettled(iterators.map((it, i) => (live[i] ? it.return?.() : undefined)));
  }
}
