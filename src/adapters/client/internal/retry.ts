import { OxiaError, RequestTimeoutError } from '../errors.js';
import { Backoff, sleep } from './backoff.js';
import { isRetryable, RpcError, type LeaderHint } from './rpc-error.js';

export const monotonicMs = (): number => performance.now();

export interface RetryContext {
  /** Absolute `monotonicMs()` time by which the operation must have completed. */
  readonly deadlineMs: number;
  /** The whole request timeout, for messages. */
  readonly timeoutMs: number;
  /** Aborts when the client closes. */
  readonly closed: AbortSignal;
  /** What is being done, for messages: "put '/a' on shard 3". */
  readonly what: string;
  /** Overrides which failures are retried (e.g. not after a stream delivered data). */
  readonly retryable?: (e: unknown) => boolean;
}

/**
 * Runs `attempt` until it succeeds, fails with a non-retryable error, or the deadline
 * passes. A not-leader error's leader hint is handed to the next attempt, which goes
 * straight there; other retryable failures wait a growing, jittered delay first.
 * Each attempt gets a signal that aborts at the deadline or when the client closes, and
 * `abandon`, which aborts it with a retryable error of the caller's (a leader that moved
 * away, see leader-moves.ts): that error is retried like a failure of the attempt. One
 * signal per attempt serves both, as every attempt of a batch of gets or puts makes it.
 */
export async function withRetries<T>(
  ctx: RetryContext,
  attempt: (hint: LeaderHint | undefined, signal: AbortSignal, abandon: (reason: RpcError) => void) => Promise<T>,
): Promise<T> {
  const backoff = new Backoff();
  const retryable = ctx.retryable ?? isRetryable;
  let hint: LeaderHint | undefined;
  let lastError: unknown;
  // Hints are followed without delay, but not forever: hints bouncing between nodes
  // during an election must not turn into a busy loop.
  let immediateRetries = 0;
  for (;;) {
    if (ctx.closed.aborted) throw closedError(ctx.what);
    const remainingMs = ctx.deadlineMs - monotonicMs();
    if (remainingMs <= 0) throw timeoutError(ctx, lastError);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new RequestTimeoutError(`${ctx.what}: deadline passed`)), remainingMs);
    const onClose = () => controller.abort(closedError(ctx.what));
    ctx.closed.addEventListener('abort', onClose, { once: true });
    let abandoned: RpcError | undefined;
    const abandon = (reason: RpcError): void => {
      if (controller.signal.aborted) return;
      abandoned = reason;
      controller.abort(reason);
    };
    try {
      return await attempt(hint, controller.signal, abandon);
    } catch (caught) {
      if (ctx.closed.aborted) throw closedError(ctx.what);
      const e = abandoned ?? caught;
      if (controller.signal.aborted && abandoned === undefined) throw timeoutError(ctx, lastError ?? e);
      if (!retryable(e)) throw e;
      lastError = e;
      const newHint = e instanceof RpcError ? e.leaderHint : undefined;
      const followHint = newHint !== undefined && newHint.leader !== hint?.leader && immediateRetries < 3;
      hint = newHint ?? hint;
      if (followHint) {
        immediateRetries++;
      } else {
        immediateRetries = 0;
        const delayMs = Math.min(backoff.next(), Math.max(0, ctx.deadlineMs - monotonicMs()));
        try {
          await sleep(delayMs, ctx.closed);
        } catch {
          throw closedError(ctx.what);
        }
      }
    } finally {
      clearTimeout(timer);
      ctx.closed.removeEventListener('abort', onClose);
    }
  }
}

export function closedError(what: string): OxiaError {
  return new OxiaError(`${what}: the client is closed`, { kind: 'Closed' });
}

function timeoutError(ctx: RetryContext, lastError: unknown): RequestTimeoutError {
  const last = lastError instanceof Error ? `; last error: ${lastError.message}` : '';
  return new RequestTimeoutError(`${ctx.what} did not complete within ${ctx.timeoutMs} ms${last}`, lastError);
}
