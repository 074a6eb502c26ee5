import { OxiaError } from '../errors.js';
import type { OxiaClient } from '../oxia-client.js';
import type { CloseableAsyncIterable, Notification } from '../types.js';

/** Receives every notification of the namespace, synchronously, in stream order. */
export interface HubListener {
  onNotification(n: Notification): void;
  /** The subscription ended with an error, or the client closed: no more notifications will come. */
  onFailure(error: Error): void;
}

/**
 * One `getNotifications()` subscription per client, shared by all the recipes that use
 * the client, open while at least one of them listens. Sharing matters: every
 * subscription reads every shard's stream, and a process may hold many locks.
 *
 * Listeners registered before an operation of the same client see every change made
 * after that operation (the client starts operations on a shard only once its streams
 * are positioned there), which is what the recipes' "read, then wait for the change"
 * steps rely on.
 */
export class NotificationHub {
  private readonly listeners = new Set<HubListener>();
  private subscription: CloseableAsyncIterable<Notification> | undefined;

  constructor(private readonly client: OxiaClient) {}

  /** Adds a listener, opening the subscription if needed; returns its removal. */
  listen(listener: HubListener): () => void {
    this.listeners.add(listener);
    if (this.subscription === undefined) this.open();
    return () => {
      if (!this.listeners.delete(listener) || this.listeners.size > 0) return;
      this.subscription?.close();
      this.subscription = undefined;
    };
  }

  private open(): void {
    let sub: CloseableAsyncIterable<Notification>;
    try {
      sub = this.client.getNotifications();
    } catch (e) {
      // The client is closed: every listener hears it at once (after listen() returns).
      const error = asError(e);
      const listeners = [...this.listeners];
      queueMicrotask(() => listeners.forEach((l) => l.onFailure(error)));
      return;
    }
    this.subscription = sub;
    void (async () => {
      let failure: Error;
      try {
        for await (const n of sub) {
          for (const l of this.listeners) {
            try {
              l.onNotification(n);
            } catch {
              // A listener's bug must not stop the others from hearing about changes.
            }
          }
        }
        failure = new OxiaError('the notifications subscription ended (the client was closed)', { kind: 'Closed' });
      } catch (e) {
        failure = asError(e);
      }
      // Closed by listen()'s removal: nobody is left to tell, and a newer subscription may serve new listeners.
      if (this.subscription !== sub) return;
      this.subscription = undefined;
      const listeners = [...this.listeners];
      this.listeners.clear();
      for (const l of listeners) l.onFailure(failure);
    })();
  }
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new OxiaError(String(e));
}
