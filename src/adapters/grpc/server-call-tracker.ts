/**
 * Tracks the calls a server is serving so that shutdown can end the long-lived ones.
 * Watch streams (assignments, notifications, health) never end on their own, and
 * grpc-js's graceful shutdown waits for every call: without this, every shutdown
 * would sit out its whole deadline and then cut calls off without a status.
 */
import { injectable } from 'inversify';

/** Why a call's signal aborted. */
export type CallEndReason = 'cancelled' | 'shutdown';

export interface TrackedCall {
  /** Aborts when the client cancels or the server shuts down; `reason()` tells which. */
  readonly signal: AbortSignal;
  /** Aborts only when the client cancels: for work that must still finish during shutdown. */
  readonly cancelSignal: AbortSignal;
  reason(): CallEndReason | undefined;
  /** Stops tracking; call once the handler is done with the call. */
  release(): void;
}

interface CancellableCall {
  readonly cancelled: boolean;
  once(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
}

@injectable()
export class ServerCallTracker {
  private readonly calls = new Set<{ end(reason: CallEndReason): void }>();
  private shuttingDown = false;

  /** Starts tracking `call`; a call that arrives during shutdown starts out aborted. */
  track(call: CancellableCall): TrackedCall {
    const controller = new AbortController();
    const cancelController = new AbortController();
    let reason: CallEndReason | undefined;
    const end = (why: CallEndReason): void => {
      // A client may still cancel a call that shutdown already ended.
      if (why === 'cancelled') cancelController.abort(why);
      if (reason !== undefined) return;
      reason = why;
      controller.abort(why);
    };
    const onCancelled = (): void => end('cancelled');
    const entry = { end };
    this.calls.add(entry);
    call.once('cancelled', onCancelled);
    if (call.cancelled) end('cancelled');
    else if (this.shuttingDown) end('shutdown');
    return {
      signal: controller.signal,
      cancelSignal: cancelController.signal,
      reason: () => reason,
      release: () => {
        this.calls.delete(entry);
        call.removeListener('cancelled', onCancelled);
      },
    };
  }

  /** Aborts every tracked call (and every later one) with reason 'shutdown'. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const call of [...this.calls]) call.end('shutdown');
  }

  get activeCount(): number {
    return this.calls.size;
  }
}
