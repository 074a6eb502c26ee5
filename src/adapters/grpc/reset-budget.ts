/**
 * A mirror of the stream-reset rate limit that Node's HTTP/2 server (nghttp2 1.57+,
 * the CVE-2023-44487 "rapid reset" mitigation) applies to every connection: a token
 * bucket of 1,000 RST_STREAM frames that refills 33 a second, in whole seconds. A
 * connection whose client resets more gets GOAWAY INTERNAL_ERROR, and the client
 * fails every call open on it. Node 20 offers no option to change the bucket (Node 22
 * added streamResetBurst/streamResetRate), so the server keeps its own estimate and
 * moves a client to a new connection before the bucket runs dry (ADR 0017).
 *
 * Pure functions over a plain value, so the arithmetic is tested without sockets. The
 * whole seconds here are not nghttp2's (its clock starts elsewhere): the mirror may
 * refill one second early, 33 tokens, which the guard's margin covers.
 */

/** nghttp2's NGHTTP2_DEFAULT_STREAM_RESET_BURST. */
export const STREAM_RESET_BURST = 1000;
/** nghttp2's NGHTTP2_DEFAULT_STREAM_RESET_RATE, tokens per second. */
export const STREAM_RESET_RATE_PER_SEC = 33;

export interface ResetBudget {
  /** Resets the connection may still receive before nghttp2 closes it. */
  readonly tokens: number;
  /** Whole seconds (monotonic) of the last refill. */
  readonly refilledAtSec: number;
}

export function freshResetBudget(nowSec: number): ResetBudget {
  return { tokens: STREAM_RESET_BURST, refilledAtSec: Math.floor(nowSec) };
}

/** The budget after `count` more resets at `nowSec`; tokens may go below zero (nghttp2 has closed the connection by then). */
export function spendResets(budget: ResetBudget, nowSec: number, count = 1): ResetBudget {
  const now = Math.floor(nowSec);
  // nghttp2_ratelim_update: whole elapsed seconds times the rate, capped at the burst.
  const elapsedSec = Math.max(0, now - budget.refilledAtSec);
  const refilled = Math.min(STREAM_RESET_BURST, budget.tokens + elapsedSec * STREAM_RESET_RATE_PER_SEC);
  return { tokens: refilled - count, refilledAtSec: elapsedSec > 0 ? now : budget.refilledAtSec };
}

/**
 * Whether to move the client off this connection now: every stream still open may
 * yet be reset by the client, and `marginResets` covers resets already on the wire.
 */
export function shouldDrain(budget: ResetBudget, openStreams: number, marginResets: number): boolean {
  return budget.tokens - openStreams <= marginResets;
}
