/**
 * Keeps clients that reset their streams as a habit (the official Oxia Node client
 * cancels every Read as soon as its first message arrives) clear of the stream-reset
 * limit of Node's HTTP/2 server, which would otherwise close their connection with
 * GOAWAY INTERNAL_ERROR and fail every call on it (ADR 0017).
 *
 * Per connection it estimates the resets received (reset-budget.ts) and, before the
 * estimate reaches the limit, sends a graceful GOAWAY (NO_ERROR) as grpc-js does for
 * its connection-age limit: calls already open finish on the old connection, new
 * calls go to a new one, and nghttp2 stops counting resets on a connection that is
 * going away. The estimate counts what the server can see:
 * - a stream the client reset while it was open;
 * - every finite server stream (Read, List, RangeScan) that completes: the client's
 *   reset may arrive after the stream has closed on the server, where no stream event
 *   shows it, yet nghttp2 counts it. Under load nearly all resets arrive that way.
 * oxia-ts's own client (known by its user-agent) never resets a finished stream, so
 * for its connections only the resets seen count: it is moved only if it really resets.
 */
import { constants as h2, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { isOxiaTsClient } from '../../domain/protocol/client-identity.js';
import { freshResetBudget, shouldDrain, spendResets, type ResetBudget } from './reset-budget.js';

/** Resets that may be in flight beyond the open streams when the decision is taken. */
const DRAIN_MARGIN_RESETS = 100;
/** grpc-js's own maximum stream id for a first, graceful GOAWAY (2^31 - 1). */
const LAST_STREAM_ID_MAX = 2 ** 31 - 1;

/** Whether a path names a server-streaming call that ends by itself after its answer. */
export type FiniteStreamPath = (path: string) => boolean;

export interface ResetGuardEvents {
  /** A connection was moved off before the reset limit; `peer` is host:port of the client. */
  drained(peer: string, estimatedResets: number): void;
}

interface ConnectionState {
  budget: ResetBudget;
  openStreams: number;
  /** Whether the client may reset a finite stream after its answer; known from the first stream's user-agent. */
  resetsFiniteStreams: boolean | undefined;
  draining: boolean;
  resets: number;
}

const nowSec = (): number => performance.now() / 1000;

/** Watches one connection of a grpc-js server (see server-sessions.ts) and moves its client before the limit. */
export function guardSession(session: ServerHttp2Session, isFinite: FiniteStreamPath, events: ResetGuardEvents): void {
  const state: ConnectionState = { budget: freshResetBudget(nowSec()), openStreams: 0, resetsFiniteStreams: undefined, draining: false, resets: 0 };
  session.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    state.openStreams++;
    state.resetsFiniteStreams ??= !isOxiaTsClient(headers['user-agent']);
    const finite = isFinite(String(headers[':path'] ?? ''));
    stream.once('close', () => {
      state.openStreams--;
      if (state.draining) return;
      const reset = stream.rstCode !== h2.NGHTTP2_NO_ERROR;
      if (!reset && !(finite && state.resetsFiniteStreams === true)) return;
      state.resets++;
      state.budget = spendResets(state.budget, nowSec());
      if (shouldDrain(state.budget, state.openStreams, DRAIN_MARGIN_RESETS)) drain(session, state, events);
    });
  });
}

function drain(session: ServerHttp2Session, state: ConnectionState, events: ResetGuardEvents): void {
  state.draining = true;
  if (session.closed || session.destroyed) return;
  const peer = `${session.socket?.remoteAddress ?? '?'}:${session.socket?.remotePort ?? '?'}`;
  try {
    session.goaway(h2.NGHTTP2_NO_ERROR, LAST_STREAM_ID_MAX);
    session.close();
  } catch {
    return; // the session closed meanwhile: nothing left to move
  }
  events.drained(peer, state.resets);
}
